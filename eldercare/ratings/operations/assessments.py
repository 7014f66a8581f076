"""Scores: the facility's self-assessment and each appointed assessor's, handed in
independently; the scores side by side and combined into one result for the committee."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.auth.models import User
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db
from eldercare.ratings.models import (
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentKind,
    Item,
    Score,
)
from eldercare.ratings.operations.common import audit_application, lock_application, value_key
from eldercare.ratings.scoring import score, spec_of

#: At least this many assessors score a facility independently.
MIN_ASSESSORS = 2


def may_score(by, application: Application, kind: str) -> bool:
    """Self-assessment: the facility's own operators. Assessors: those appointed, who are
    never the facility's operators (separation of duties)."""
    if kind == AssessmentKind.SELF:
        return role_of(by) == Role.OPERATOR and by.facility_id == application.facility_id
    return role_of(by) != Role.OPERATOR and any(a.id == by.id for a in application.assessors)


def _assessment(application: Application, kind: str, by) -> Assessment:
    """An assessor's own scores; the facility's one self-assessment, whichever of its
    operators works on it."""
    stmt = sa.select(Assessment).where(
        Assessment.application_id == application.id, Assessment.kind == kind
    )
    if kind == AssessmentKind.ASSESSOR:
        stmt = stmt.where(Assessment.by_id == by.id)
    found = db.session.scalar(stmt)
    if found is None:
        found = Assessment(application_id=application.id, kind=kind, by_id=by.id)
        db.session.add(found)
        db.session.flush()
    return found


def open_assessment(application: Application, kind: str, by) -> Assessment:
    """The acting user's assessment of the application (its own as an assessor, the
    facility's self-assessment as its operator), locked, while it can still change: its
    scores and evidence files. Refused otherwise (403, or 409 when it is too early or late)."""
    if not may_score(by, application, kind):
        raise AppError(403, _l("You do not have permission to do this."))
    lock_application(application)
    allowed = (
        (ApplicationStatus.APPLIED.value, ApplicationStatus.SELF_ASSESSED.value)
        if kind == AssessmentKind.SELF
        else (ApplicationStatus.SELF_ASSESSED.value,)
    )
    if application.status not in allowed:
        message = (
            _l("Wait for the facility's self-assessment.")
            if kind == AssessmentKind.ASSESSOR and application.status == "applied"
            else _l("Scores of this facility can no longer change.")
        )
        raise Conflict(message)
    assessment = _assessment(application, kind, by)
    if assessment.submitted_at is not None:
        raise Conflict(_l("This assessment was handed in; it can no longer change."))
    return assessment


def may_change(by, application: Application, kind: str) -> bool:
    """Whether ``open_assessment`` would let ``by`` change this assessment now (for pages:
    no query, no lock)."""
    if not may_score(by, application, kind):
        return False
    if kind == AssessmentKind.SELF:
        return application.status in (ApplicationStatus.APPLIED, ApplicationStatus.SELF_ASSESSED)
    return application.status == ApplicationStatus.SELF_ASSESSED


def save_scores(application: Application, kind: str, entries: dict, by, submit: bool) -> Assessment:
    """Record item scores (``entries``: item id -> {"points"|"met", "note"}), every change
    audited; ``submit`` hands the assessment in (checked by the engine first)."""
    assessment = open_assessment(application, kind, by)
    scheme = application.round.scheme
    items = {i.id: i for s in scheme.sections for i in s.items}
    current = {s.item_id: s for s in assessment.scores}
    changes: dict[str, list] = {}
    errors: dict[str, list] = {}
    for item_id, entry in entries.items():
        item = items.get(item_id)
        if item is None:
            errors[f"item-{item_id}"] = [_l("Not an item of this scheme.")]
            continue
        score = current.get(item_id)
        if score is None:
            score = Score(item_id=item_id)
            assessment.scores.append(score)
        old = score.met if item.must_have else score.points
        if item.must_have:
            score.met = entry.get("met")
        else:
            points = entry.get("points")
            if points is not None:
                points = Decimal(str(points))
            if points is not None and not (
                points.is_finite()
                and 0 <= points <= item.max_points
                and points == (points * 2).to_integral_value() / 2
            ):
                errors[f"item-{item_id}"] = [
                    _l("Between 0 and %(max)s, in whole or half points.", max=item.max_points)
                ]
                continue
            score.points = points
        score.note = entry.get("note", score.note or "")
        new = score.met if item.must_have else score.points
        if old != new:
            changes[value_key(item)] = [_plain(old), _plain(new)]
        current[item_id] = score
    if errors:
        raise Invalid(errors=errors)
    if submit:
        missing = [
            value_key(i)
            for i in items.values()
            if (current.get(i.id) is None)
            or (i.must_have and current[i.id].met is None)
            or (not i.must_have and current[i.id].points is None)
        ]
        if missing:
            raise Invalid(
                _l("Score every item before handing in: %(n)s are missing.", n=len(missing))
            )
        assessment.submitted_at = utcnow()
    db.session.flush()
    audit_application(
        "rating_score.changed" if not submit else "rating_assessment.submitted",
        application,
        by,
        changes=changes,
        note=kind,
    )
    _advance(application)
    return assessment


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def _advance(application: Application) -> None:
    """Self-assessment handed in → assessors may score; every assessor handed in → the
    committee may decide."""
    submitted = db.session.execute(
        sa.select(Assessment.kind, Assessment.by_id).where(
            Assessment.application_id == application.id, Assessment.submitted_at.is_not(None)
        )
    ).all()
    kinds = {k for k, _ in submitted}
    by_assessor = {b for k, b in submitted if k == AssessmentKind.ASSESSOR}
    if application.status == ApplicationStatus.APPLIED and AssessmentKind.SELF in kinds:
        application.status = ApplicationStatus.SELF_ASSESSED.value
    if (
        application.status == ApplicationStatus.SELF_ASSESSED
        and len(application.assessors) >= MIN_ASSESSORS
        and {a.id for a in application.assessors} <= by_assessor
    ):
        application.status = ApplicationStatus.ASSESSED.value


def current_scores(application: Application, kind: str, by) -> dict[int, Score]:
    stmt = (
        sa.select(Assessment)
        .where(Assessment.application_id == application.id, Assessment.kind == kind)
        .options(selectinload(Assessment.scores))
    )
    if kind == AssessmentKind.ASSESSOR:
        stmt = stmt.where(Assessment.by_id == by.id)
    assessment = db.session.scalar(stmt)
    return {s.item_id: s for s in assessment.scores} if assessment else {}


def may_see_scores(user, application: Application) -> bool:
    """The side-by-side scores: county staff who are not assessors of the facility; an
    assessor once their own scores are handed in; never the operator."""
    role = role_of(user)
    if role == Role.OPERATOR:
        return False
    if not any(a.id == user.id for a in application.assessors):
        return True
    return (
        db.session.scalar(
            sa.select(Assessment.id).where(
                Assessment.application_id == application.id,
                Assessment.kind == AssessmentKind.ASSESSOR,
                Assessment.by_id == user.id,
                Assessment.submitted_at.is_not(None),
            )
        )
        is not None
    )


@dataclass
class Comparison:
    item: Item
    values: list  # one per assessor, in the order of ``assessors``
    self_value: object
    differs: bool


def compare(application: Application) -> tuple[list[User], list[Comparison]]:
    """Every item with each assessor's score beside the self-assessment; ``differs`` where
    assessors disagree on a must-have or by a fifth of the item's points or more."""
    assessments = db.session.scalars(
        sa.select(Assessment)
        .where(Assessment.application_id == application.id)
        .options(selectinload(Assessment.scores))
    ).all()
    assessors = list(application.assessors)
    by_user = {a.by_id: a for a in assessments if a.kind == AssessmentKind.ASSESSOR}
    self_assessment = next((a for a in assessments if a.kind == AssessmentKind.SELF), None)

    def value(assessment, item):
        if assessment is None:
            return None
        score = next((s for s in assessment.scores if s.item_id == item.id), None)
        if score is None:
            return None
        return score.met if item.must_have else score.points

    rows = []
    for section in application.round.scheme.sections:
        for item in section.items:
            values = [value(by_user.get(a.id), item) for a in assessors]
            given = [v for v in values if v is not None]
            if item.must_have:
                differs = len(set(given)) > 1
            else:
                differs = bool(given) and (max(given) - min(given)) * 5 >= item.max_points
            rows.append(Comparison(item, values, value(self_assessment, item), differs))
    return assessors, rows


def combined(application: Application):
    """The assessors' scores as one: each item the mean of the assessors (rounded down to a
    half point), a must-have met only if every assessor found it met; rated by the engine."""
    _assessors, rows = compare(application)
    scheme = application.round.scheme
    spec = spec_of(scheme)
    scores = {}
    for row in rows:
        key = value_key(row.item)
        given = [v for v in row.values if v is not None]
        if not given:
            continue
        if row.item.must_have:
            scores[key] = all(v is True for v in given)
        else:
            mean = sum(given, Decimal(0)) / len(given)
            scores[key] = (mean * 2).to_integral_value(rounding="ROUND_FLOOR") / 2
    return score(spec, scores)
