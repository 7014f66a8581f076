"""The committee's decision on the combined result (into public notice, no grade, or back to
the assessors), a result reopened after an upheld objection, and publication of the grade."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError, Conflict
from eldercare.core.periods import notice_ends_on
from eldercare.extensions import db
from eldercare.ratings.models import (
    VALID_YEARS,
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentKind,
    Grade,
    Objection,
)
from eldercare.ratings.operations.assessments import combined
from eldercare.ratings.operations.common import (
    audit_application,
    lock_application,
    require_county_staff,
)


def decide(application: Application, approve: bool, note: str, by) -> Application:
    """The committee: county staff who did not assess this facility approve the combined
    result (into public notice, or no grade) or return it to the assessors."""
    require_county_staff(by, application.round.region)
    if any(a.id == by.id for a in application.assessors):
        raise AppError(403, _l("An assessor of this facility cannot decide on its scores."))
    lock_application(application)
    if not application.is_assessed:
        raise Conflict(_l("This facility is not waiting for the committee."))
    if not approve:
        application.status = ApplicationStatus.SELF_ASSESSED.value
        application.return_note = note
        for assessment in db.session.scalars(
            sa.select(Assessment).where(
                Assessment.application_id == application.id,
                Assessment.kind == AssessmentKind.ASSESSOR,
            )
        ):
            assessment.submitted_at = None
        db.session.flush()
        audit_application("rating_application.returned", application, by, note=note[:255])
        return application
    result = combined(application)
    application.level = result.level
    application.total = result.total
    application.result = explain(result)
    application.decided_by_id = by.id
    application.decided_at = utcnow()
    if result.level is None:
        application.status = ApplicationStatus.NO_GRADE.value
    else:
        application.status = ApplicationStatus.IN_NOTICE.value
        application.notice_until = notice_ends_on(local_today(), application.round.notice_days)
    db.session.flush()
    audit_application(
        "rating_application.approved",
        application,
        by,
        changes={"level": [None, result.level], "total": [None, str(result.total)]},
    )
    return application


def explain(result) -> dict:
    """The result as stored: section and total scores, failed must-haves, the level, and
    what stopped the next one."""
    return {
        "sections": {k: str(v) for k, v in result.sections.items()},
        "total": str(result.total),
        "failed_must_haves": result.failed_must_haves,
        "level": result.level,
        "stopped_by": [
            {
                "level": s.level,
                "kind": s.kind,
                "target": s.target,
                "needed": str(s.needed),
                "got": str(s.got),
            }
            for s in result.stopped_by
        ],
    }


def reopen(application: Application, note: str, by) -> Application:
    """An objection upheld during the notice: the result goes back to the committee (as
    assessed) to be decided again."""
    require_county_staff(by, application.round.region)
    lock_application(application)
    if not application.is_in_notice:
        raise Conflict(_l("Only a result in public notice can be reopened."))
    application.status = ApplicationStatus.ASSESSED.value
    application.level = None
    application.total = None
    application.result = {}
    application.notice_until = None
    application.return_note = note
    db.session.flush()
    audit_application("rating_application.reopened", application, by, note=note[:255])
    return application


def publish(application: Application, by=None, today: date | None = None) -> Grade:
    """After the notice, with every objection answered, the grade is published: valid for
    three years from today."""
    today = today or local_today()
    if by is not None:
        require_county_staff(by, application.round.region)
    lock_application(application)
    if not application.is_in_notice:
        raise Conflict(_l("Only a result in public notice can be published."))
    if application.notice_until is None or today <= application.notice_until:
        raise Conflict(_l("The public notice runs until %(day)s.", day=application.notice_until))
    open_objections = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Objection)
        .where(Objection.application_id == application.id, Objection.resolution == "")
    )
    if open_objections:
        raise Conflict(_l("Answer every objection before publishing."))
    grade = Grade(
        facility_id=application.facility_id,
        level=application.level,
        valid_from=today,
        valid_until=_years_later(today, VALID_YEARS),
        round_id=application.round_id,
        scheme_id=application.round.scheme_id,
        total=application.total,
    )
    db.session.add(grade)
    application.status = ApplicationStatus.PUBLISHED.value
    application.published_at = utcnow()
    db.session.flush()
    audit_application(
        "rating_application.published", application, by, changes={"level": [None, grade.level]}
    )
    return grade


def _years_later(day: date, years: int) -> date:
    """The same date so many years on; 29 February becomes 1 March (the full period)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)
