"""The public notice (公示) of a result: its period, the results in notice, and the objections
recorded by county staff or lodged by the public, and their answers."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.core.db import local_date, local_today, utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.ratings.models import Application, ApplicationStatus, Objection, Round, Scheme
from eldercare.ratings.operations.common import (
    audit_application,
    lock_application,
    require_county_staff,
)
from eldercare.regions.models import Region


def notice_starts(application: Application) -> date | None:
    """The first day of the application's public notice: the day the committee approved."""
    if application.decided_at is None or application.notice_until is None:
        return None
    return local_date(application.decided_at)


def in_public_notice(application: Application, today: date | None = None) -> bool:
    """Whether the result is in its notice period today (the public sees it and may object)."""
    today = today or local_today()
    return (
        application.is_in_notice
        and application.notice_until is not None
        and today <= application.notice_until
    )


def in_notice(application_id: int) -> Application | None:
    """The application if its result is in public notice today; None for any other (or for
    none): nothing is said of applications that are not public."""
    found = db.session.get(Application, application_id)
    return found if found is not None and in_public_notice(found) else None


def record_objection(application: Application, data: dict, by) -> Objection:
    """County staff record an objection that reached them (a letter, a call) on the day it
    came in: a day of the notice period, never after today."""
    require_county_staff(by, application.round.region)
    if not application.is_in_notice:
        raise Conflict(_l("Objections are recorded during the public notice."))
    first = notice_starts(application)
    last = min(application.notice_until, local_today())
    if not first <= data["received_on"] <= last:
        raise Invalid(
            errors={
                "received_on": [
                    _l(
                        "Enter a day of the public notice, from %(first)s to %(last)s.",
                        first=first.isoformat(),
                        last=last.isoformat(),
                    )
                ]
            }
        )
    objection = Objection(
        application_id=application.id,
        received_on=data["received_on"],
        text=data["text"],
        resolution=data.get("resolution", ""),
        recorded_by_id=by.id,
    )
    db.session.add(objection)
    db.session.flush()
    audit_application("rating_objection.recorded", application, by)
    return objection


def answer_objection(objection: Objection, resolution: str, by) -> Objection:
    """Record what was done about an objection (the grade waits until every one has an
    answer); an objection that is upheld is answered by reopening the result."""
    application = db.session.get(Application, objection.application_id)
    require_county_staff(by, application.round.region)
    if not application.is_in_notice:
        raise Conflict(_l("Objections are recorded during the public notice."))
    before = objection.resolution
    objection.resolution = resolution
    objection.answered_by_id = by.id
    objection.answered_at = utcnow()
    db.session.flush()
    audit_application(
        "rating_objection.answered", application, by, changes={"resolution": [before, resolution]}
    )
    return objection


def lodge_objection(application: Application, data: dict) -> Objection:
    """A member of the public objects to a result in notice, from the notice page (no
    account): kept with the name and phone given, for county staff to answer; audited."""
    lock_application(application)
    if not in_public_notice(application):
        raise Conflict(_l("The public notice of this result is over: objections are closed."))
    objection = Objection(
        application_id=application.id,
        received_on=local_today(),
        text=data["text"],
        lodged_publicly=True,
        lodger_name=data["name"],
        lodger_phone=data["phone"],
    )
    db.session.add(objection)
    db.session.flush()
    audit_application("rating_objection.lodged", application, None, record=objection, note="public")
    return objection


def public_notices(today: date | None = None, county: Region | None = None) -> list[Application]:
    """The results in public notice today, of every county (or one), newest first, with what
    the notice prints (facility, round, the round's county)."""
    today = today or local_today()
    stmt = (
        sa.select(Application)
        .join(Round, Round.id == Application.round_id)
        .where(
            Application.status == ApplicationStatus.IN_NOTICE.value,
            Application.notice_until >= today,
        )
        .options(
            selectinload(Application.facility),
            selectinload(Application.round).selectinload(Round.region),
            selectinload(Application.round)
            .selectinload(Round.scheme)
            .selectinload(Scheme.sections),
        )
        .order_by(Application.decided_at.desc(), Application.id)
    )
    if county is not None:
        stmt = stmt.where(Round.region_id == county.id)
    return list(db.session.scalars(stmt))


def notice_of_facility(facility_id: int, today: date | None = None) -> Application | None:
    """The facility's result in public notice today, if any (for its public page)."""
    today = today or local_today()
    return db.session.scalar(
        sa.select(Application)
        .where(
            Application.facility_id == facility_id,
            Application.status == ApplicationStatus.IN_NOTICE.value,
            Application.notice_until >= today,
        )
        .order_by(Application.id.desc())
        .limit(1)
    )
