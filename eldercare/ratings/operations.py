"""Star ratings: load the shipped schemes, copy one for a county and edit the copy until a
round uses it; run a round (applications, assessors, scores and their evidence files, the
committee, the notice, publication), withdraw an application, close the round."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.auth.models import User
from eldercare.core import audit
from eldercare.core.db import local_date, local_today, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.periods import notice_ends_on
from eldercare.core.permissions import (
    Role,
    is_county_staff_of,
    is_visible,
    role_of,
    scope_clause,
    visible,
)
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import evidence as files
from eldercare.ratings.models import (
    FACILITY_KINDS,
    FINISHED,
    UNDECIDED,
    VALID_YEARS,
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentKind,
    Evidence,
    Grade,
    Item,
    Objection,
    Round,
    RoundStatus,
    Scheme,
    SchemeKind,
    Score,
    Section,
    Threshold,
)
from eldercare.ratings.scoring import (
    ItemSpec,
    SchemeSpec,
    SectionSpec,
    ThresholdSpec,
    check,
    score,
    spec_of,
)
from eldercare.regions.models import Region

SHIPPED_DIR = os.path.join(os.path.dirname(__file__), "schemes")


class SchemeFileError(ValueError):
    """A shipped scheme file that does not hold together (nothing is loaded from it)."""


def _spec_from_json(data: dict) -> SchemeSpec:
    return SchemeSpec(
        sections=tuple(
            SectionSpec(
                s["code"],
                s["name"],
                int(s["max_points"]),
                tuple(
                    ItemSpec(i["code"], int(i.get("max_points", 0)), bool(i.get("must_have")))
                    for i in s["items"]
                ),
            )
            for s in data["sections"]
        ),
        thresholds=tuple(
            ThresholdSpec(int(t["level"]), int(t["min_total"]), t.get("section_minimums", {}))
            for t in data["thresholds"]
        ),
        max_level=int(data["max_level"]),
    )


def scheme_from_json(data: dict) -> Scheme:
    """A new (unsaved) scheme from the shipped JSON format, checked first."""
    try:
        SchemeKind(data["kind"])
        problems = check(_spec_from_json(data))
    except (KeyError, TypeError, ValueError) as err:
        raise SchemeFileError(f"malformed scheme: {err!r}") from None
    if problems:
        raise SchemeFileError("; ".join(problems))
    scheme = Scheme(
        code=data["code"],
        version=int(data.get("version", 1)),
        name=data["name"],
        kind=data["kind"],
        max_level=int(data["max_level"]),
        description=data.get("description", ""),
    )
    for position, s in enumerate(data["sections"]):
        section = Section(
            code=s["code"], name=s["name"], max_points=int(s["max_points"]), position=position
        )
        section.items = [
            Item(
                code=i["code"],
                text=i["text"],
                max_points=int(i.get("max_points", 0)),
                must_have=bool(i.get("must_have")),
                evidence=i.get("evidence", ""),
                position=n,
            )
            for n, i in enumerate(s["items"])
        ]
        scheme.sections.append(section)
    scheme.thresholds = [
        Threshold(
            level=int(t["level"]),
            min_total=int(t["min_total"]),
            section_minimums={k: int(v) for k, v in t.get("section_minimums", {}).items()},
        )
        for t in data["thresholds"]
    ]
    return scheme


@functools.cache
def rateable_kinds(directory: str = SHIPPED_DIR) -> tuple[str, ...]:
    """The facility kinds a scheme shipped with the platform can rate (a county's copies are
    of the same kinds): the only ones a share of rated facilities counts."""
    kinds: set[str] = set()
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                kinds.update(FACILITY_KINDS[SchemeKind(json.load(handle)["kind"])])
    return tuple(sorted(kinds))


def load_shipped_schemes(directory: str = SHIPPED_DIR) -> int:
    """Add the schemes shipped with the application that are not in the database yet (by
    code and version); returns how many were added. Every file is checked before any is
    added."""
    schemes = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            try:
                schemes.append(scheme_from_json(json.load(handle)))
            except (json.JSONDecodeError, SchemeFileError) as err:
                raise SchemeFileError(f"{name}: {err}") from None
    shipped = set(
        db.session.execute(
            sa.select(Scheme.code, Scheme.version).where(Scheme.region_id.is_(None))
        ).all()
    )
    missing = [s for s in schemes if (s.code, s.version) not in shipped]
    db.session.add_all(missing)
    db.session.flush()
    return len(missing)


# --- county copies ----------------------------------------------------------------------------


def _county_of(user) -> Region:
    county = user.region.county if user.region is not None else None
    if county is None:
        raise AppError(403, _l("Only county staff keep rating schemes."))
    return county


def can_edit(user, scheme: Scheme) -> bool:
    """County staff (and admins) edit their county's copies that no round uses yet."""
    if scheme.region_id is None or scheme.is_frozen:
        return False
    return is_county_staff_of(user, scheme.region)


def copy_scheme(scheme: Scheme, by, county: Region | None = None) -> Scheme:
    """A county's own copy of a scheme, as the next version of that code in the county."""
    if role_of(by) not in (Role.ADMIN, Role.COUNTY_STAFF) or not is_visible(scheme, by):
        raise AppError(403, _l("You do not have permission to do this."))
    county = county or _county_of(by)
    latest = db.session.scalar(
        sa.select(sa.func.max(Scheme.version)).where(
            Scheme.code == scheme.code, Scheme.region_id == county.id
        )
    )
    copy = Scheme(
        code=scheme.code,
        version=(latest or 0) + 1,
        name=scheme.name,
        kind=scheme.kind,
        max_level=scheme.max_level,
        description=scheme.description,
        region_id=county.id,
        copied_from_id=scheme.id,
        created_by_id=by.id,
    )
    for s in scheme.sections:
        section = Section(code=s.code, name=s.name, max_points=s.max_points, position=s.position)
        section.items = [
            Item(
                code=i.code,
                text=i.text,
                max_points=i.max_points,
                must_have=i.must_have,
                evidence=i.evidence,
                position=i.position,
            )
            for i in s.items
        ]
        copy.sections.append(section)
    copy.thresholds = [
        Threshold(level=t.level, min_total=t.min_total, section_minimums=dict(t.section_minimums))
        for t in scheme.thresholds
    ]
    db.session.add(copy)
    db.session.flush()
    audit.record(
        "rating_scheme.copied",
        copy,
        actor=by,
        region_id=county.id,
        changes={"copied_from": [None, scheme.id], "version": [None, copy.version]},
    )
    return copy


def _require_editable(scheme: Scheme, by) -> None:
    if scheme.is_frozen:
        raise Conflict(_l("A round uses this scheme: it can no longer change. Copy it instead."))
    if not can_edit(by, scheme):
        raise AppError(403, _l("You do not have permission to do this."))


def update_item(item: Item, data: dict, by) -> Item:
    """Change an item of a county's copy; the section's points follow its items, and the
    scheme must still hold together (thresholds within the points)."""
    scheme = item.section.scheme
    _require_editable(scheme, by)
    must_have = data.get("must_have", item.must_have)
    points = 0 if must_have else data.get("max_points", item.max_points)
    if not must_have and not points:
        raise Invalid(errors={"max_points": [_l("A scored item is worth at least one point.")]})
    before = {k: getattr(item, k) for k in ("text", "max_points", "must_have", "evidence")}
    # Nothing reaches the database before the whole scheme is checked (the caller rolls back
    # a refusal).
    with db.session.no_autoflush:
        item.text = data.get("text", item.text)
        item.evidence = data.get("evidence", item.evidence)
        item.must_have = must_have
        item.max_points = points
        section = item.section
        section.max_points = sum(i.max_points for i in section.items if not i.must_have)
        problems = check(spec_of(scheme))
    if problems:
        raise Invalid(
            _l("The scheme would not hold together: %(problems)s", problems="; ".join(problems))
        )
    db.session.flush()
    audit.record(
        "rating_scheme.item_changed",
        scheme,
        actor=by,
        region_id=scheme.region_id,
        changes=audit.changes_between(before, {k: getattr(item, k) for k in before}),
        note=f"{section.code}/{item.code}",
    )
    return item


def freeze(scheme: Scheme) -> None:
    """A round starts using the scheme: from now on it never changes."""
    if scheme.frozen_at is None:
        scheme.frozen_at = utcnow()


# --- lists ----------------------------------------------------------------------------------


@dataclass
class SchemeRow:
    scheme: Scheme
    items: int
    must_haves: int


def schemes_for(user) -> list[Scheme]:
    return list(
        db.session.scalars(
            sa.select(Scheme)
            .where(scope_clause(Scheme, user))
            .options(selectinload(Scheme.sections).selectinload(Section.items))
            .order_by(Scheme.region_id.is_not(None), Scheme.kind, Scheme.code, Scheme.version)
        )
    )


# --- rounds ----------------------------------------------------------------------------------


def _require_county_staff(by, county: Region) -> None:
    role = role_of(by)
    if role == Role.ADMIN:
        return
    if role != Role.COUNTY_STAFF or by.region is None or not by.region.contains(county):
        raise AppError(403, _l("You do not have permission to do this."))


def open_round(county: Region, data: dict, by) -> Round:
    """A county opens a round with a scheme; the scheme is frozen from now on."""
    _require_county_staff(by, county)
    scheme = db.session.get(Scheme, data["scheme_id"])
    if (
        scheme is None
        or not is_visible(scheme, by)
        or (scheme.region_id is not None and scheme.region_id != county.id)
    ):
        raise Invalid(
            errors={"scheme_id": [_l("Choose a scheme of your county or a shipped one.")]}
        )
    rnd = Round(
        region_id=county.id,
        year=data["year"],
        name=data["name"],
        scheme_id=scheme.id,
        notice_days=data["notice_days"],
        issuing_office=data.get("issuing_office", ""),
        supervision_phone=data.get("supervision_phone", ""),
        opened_by_id=by.id,
    )
    db.session.add(rnd)
    freeze(scheme)
    db.session.flush()
    audit.record(
        "rating_round.opened",
        rnd,
        actor=by,
        region_id=county.id,
        changes={"year": [None, rnd.year], "scheme": [None, f"{scheme.code} v{scheme.version}"]},
    )
    return rnd


def update_notice_details(rnd: Round, data: dict, by) -> Round:
    """The issuing office and supervision phone printed on the round's public notices."""
    _require_county_staff(by, rnd.region)
    before = {k: getattr(rnd, k) for k in ("issuing_office", "supervision_phone")}
    rnd.issuing_office = data["issuing_office"]
    rnd.supervision_phone = data["supervision_phone"]
    db.session.flush()
    audit.record(
        "rating_round.notice_details_changed",
        rnd,
        actor=by,
        region_id=rnd.region_id,
        changes=audit.changes_between(before, {k: getattr(rnd, k) for k in before}),
    )
    return rnd


def lock_round(rnd: Round) -> Round:
    """Serialise what depends on the round's set of applications (adding one, closing)."""
    db.session.execute(sa.select(Round.id).where(Round.id == rnd.id).with_for_update())
    db.session.refresh(rnd)
    return rnd


def add_application(rnd: Round, facility: Facility, by) -> Application:
    """A facility that applied joins the round (its kind must be the scheme's)."""
    _require_county_staff(by, rnd.region)
    lock_round(rnd)
    if not rnd.region.contains(facility.region):
        raise Invalid(errors={"facility_id": [_l("Choose a facility of the county.")]})
    if facility.kind not in FACILITY_KINDS[SchemeKind(rnd.scheme.kind)]:
        raise Invalid(
            errors={"facility_id": [_l("This scheme does not rate this kind of facility.")]}
        )
    if rnd.status != RoundStatus.OPEN.value:
        raise Conflict(_l("This round is closed."))
    exists = db.session.scalar(
        sa.select(Application.id).where(
            Application.round_id == rnd.id, Application.facility_id == facility.id
        )
    )
    if exists is not None:
        raise Conflict(_l("This facility is already in the round."))
    application = Application(
        round_id=rnd.id, facility_id=facility.id, round=rnd, facility=facility
    )
    db.session.add(application)
    db.session.flush()
    _audit_application("rating_application.added", application, by)
    return application


def _audit_application(action: str, application: Application, by, record=None, **entry) -> None:
    """An entry placed in the application's county and facility; ``record`` is the row it is
    about when that is not the application itself (an evidence file)."""
    audit.record(
        action,
        application if record is None else record,
        actor=by,
        region_id=application.round.region_id,
        facility_id=application.facility_id,
        **entry,
    )


#: Who may be appointed to score a facility (of the round's county).
ASSESSOR_ROLES = frozenset({Role.COUNTY_STAFF, Role.ASSESSOR})
NOT_AN_ASSESSOR = _l("Choose a member of the county's staff or an external assessor of the county.")


def appoint_assessor(application: Application, assessor: User, by) -> None:
    """County staff or external assessors of the round's county score the facility; never
    an operator, and never someone of the facility itself."""
    _require_county_staff(by, application.round.region)
    county = application.round.region
    if (
        role_of(assessor) not in ASSESSOR_ROLES
        or assessor.region is None
        or not county.contains(assessor.region)
    ):
        raise Invalid(errors={"user_id": [NOT_AN_ASSESSOR]})
    if assessor in application.assessors:
        raise Conflict(_l("Already an assessor of this facility."))
    if application.status not in (
        ApplicationStatus.APPLIED.value,
        ApplicationStatus.SELF_ASSESSED.value,
    ):
        raise Conflict(_l("The assessment of this facility is already over."))
    application.assessors.append(assessor)
    db.session.flush()
    _audit_application(
        "rating_application.assessor_appointed",
        application,
        by,
        changes={"assessor": [None, assessor.username]},
    )


# --- scores ------------------------------------------------------------------------------------


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


def may_score(by, application: Application, kind: str) -> bool:
    """Self-assessment: the facility's own operators. Assessors: those appointed, who are
    never the facility's operators (separation of duties)."""
    if kind == AssessmentKind.SELF:
        return role_of(by) == Role.OPERATOR and by.facility_id == application.facility_id
    return role_of(by) != Role.OPERATOR and any(a.id == by.id for a in application.assessors)


def _value_key(item: Item) -> str:
    return f"{item.section.code}/{item.code}"


def lock_application(application: Application) -> Application:
    """Serialise changes to one application (two assessors handing in, two committee
    members deciding, a publish racing the scheduled job)."""
    db.session.execute(
        sa.select(Application.id).where(Application.id == application.id).with_for_update()
    )
    db.session.refresh(application)
    return application


#: At least this many assessors score a facility independently.
MIN_ASSESSORS = 2


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
            changes[_value_key(item)] = [_plain(old), _plain(new)]
        current[item_id] = score
    if errors:
        raise Invalid(errors=errors)
    if submit:
        missing = [
            _value_key(i)
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
    _audit_application(
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
        key = _value_key(row.item)
        given = [v for v in row.values if v is not None]
        if not given:
            continue
        if row.item.must_have:
            scores[key] = all(v is True for v in given)
        else:
            mean = sum(given, Decimal(0)) / len(given)
            scores[key] = (mean * 2).to_integral_value(rounding="ROUND_FLOOR") / 2
    return score(spec, scores)


def decide(application: Application, approve: bool, note: str, by) -> Application:
    """The committee: county staff who did not assess this facility approve the combined
    result (into public notice, or no grade) or return it to the assessors."""
    _require_county_staff(by, application.round.region)
    if any(a.id == by.id for a in application.assessors):
        raise AppError(403, _l("An assessor of this facility cannot decide on its scores."))
    lock_application(application)
    if application.status != ApplicationStatus.ASSESSED:
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
        _audit_application("rating_application.returned", application, by, note=note[:255])
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
    _audit_application(
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


def notice_starts(application: Application) -> date | None:
    """The first day of the application's public notice: the day the committee approved."""
    if application.decided_at is None or application.notice_until is None:
        return None
    return local_date(application.decided_at)


def in_public_notice(application: Application, today: date | None = None) -> bool:
    """Whether the result is in its notice period today (the public sees it and may object)."""
    today = today or local_today()
    return (
        application.status == ApplicationStatus.IN_NOTICE
        and application.notice_until is not None
        and today <= application.notice_until
    )


def record_objection(application: Application, data: dict, by) -> Objection:
    """County staff record an objection that reached them (a letter, a call) on the day it
    came in: a day of the notice period, never after today."""
    _require_county_staff(by, application.round.region)
    if application.status != ApplicationStatus.IN_NOTICE:
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
    _audit_application("rating_objection.recorded", application, by)
    return objection


def answer_objection(objection: Objection, resolution: str, by) -> Objection:
    """Record what was done about an objection (the grade waits until every one has an
    answer); an objection that is upheld is answered by reopening the result."""
    application = db.session.get(Application, objection.application_id)
    _require_county_staff(by, application.round.region)
    if application.status != ApplicationStatus.IN_NOTICE:
        raise Conflict(_l("Objections are recorded during the public notice."))
    before = objection.resolution
    objection.resolution = resolution
    objection.answered_by_id = by.id
    objection.answered_at = utcnow()
    db.session.flush()
    _audit_application(
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
    _audit_application(
        "rating_objection.lodged", application, None, record=objection, note="public"
    )
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


def reopen(application: Application, note: str, by) -> Application:
    """An objection upheld during the notice: the result goes back to the committee (as
    assessed) to be decided again."""
    _require_county_staff(by, application.round.region)
    lock_application(application)
    if application.status != ApplicationStatus.IN_NOTICE:
        raise Conflict(_l("Only a result in public notice can be reopened."))
    application.status = ApplicationStatus.ASSESSED.value
    application.level = None
    application.total = None
    application.result = {}
    application.notice_until = None
    application.return_note = note
    db.session.flush()
    _audit_application("rating_application.reopened", application, by, note=note[:255])
    return application


def publish(application: Application, by=None, today: date | None = None) -> Grade:
    """After the notice, with every objection answered, the grade is published: valid for
    three years from today."""
    today = today or local_today()
    if by is not None:
        _require_county_staff(by, application.round.region)
    lock_application(application)
    if application.status != ApplicationStatus.IN_NOTICE:
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
    _audit_application(
        "rating_application.published", application, by, changes={"level": [None, grade.level]}
    )
    return grade


def _years_later(day: date, years: int) -> date:
    """The same date so many years on; 29 February becomes 1 March (the full period)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def publish_due(now=None) -> int:
    """Scheduled: publish every result whose notice is over and whose objections are all
    answered (others wait)."""

    today = local_date(now) if now else local_today()
    count = 0
    for application in db.session.scalars(
        sa.select(Application).where(
            Application.status == ApplicationStatus.IN_NOTICE.value,
            Application.notice_until < today,
        )
    ):
        try:
            with db.session.begin_nested():
                publish(application, None, today)
            count += 1
        except (Conflict, sa.exc.IntegrityError):  # waiting for an answer, or published already
            continue
    db.session.commit()
    return count


# --- evidence files ----------------------------------------------------------------------------


def attach_evidence(application: Application, kind: str, item_id: int, upload, by) -> Evidence:
    """Attach a checked upload (``schemas.EvidenceUpload``) to an item of the acting user's
    assessment while it can still change. The file is written only now, after every check,
    and removed again if the row cannot be stored or the transaction does not commit."""
    assessment = open_assessment(application, kind, by)
    item = db.session.get(Item, item_id)
    if item is None or item.section.scheme_id != application.round.scheme_id:
        raise Invalid(errors={"item_id": [_l("Not an item of this scheme.")]})
    evidence = Evidence(
        assessment_id=assessment.id,
        item_id=item.id,
        original_name=upload.name,
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=upload.sha256,
        storage_key=files.new_key(application),
        uploaded_by_id=by.id,
        uploaded_at=utcnow(),
    )
    path = files.write(evidence.storage_key, upload.data)
    try:
        db.session.add(evidence)
        db.session.flush()
    except Exception:
        files.remove(path)
        raise
    _audit_application(
        "rating_evidence.uploaded",
        application,
        by,
        record=evidence,
        changes={"file": [None, evidence.original_name]},
        note=f"{kind} {_value_key(item)} {evidence.content_type} {evidence.size} B"
        f" sha256:{evidence.sha256}",
    )
    return evidence


def remove_evidence(evidence: Evidence, by) -> None:
    """Take a file off an assessment that can still change (by whoever may change it); the
    file itself goes once the removal is committed."""
    assessment = evidence.assessment
    application = db.session.get(Application, assessment.application_id)
    if assessment.kind == AssessmentKind.ASSESSOR and assessment.by_id != by.id:
        raise AppError(403, _l("You do not have permission to do this."))
    open_assessment(application, assessment.kind, by)
    name = evidence.original_name
    files.remove_after_commit(evidence.storage_key)
    db.session.delete(evidence)
    db.session.flush()
    _audit_application(
        "rating_evidence.deleted",
        application,
        by,
        record=evidence,
        changes={"file": [name, None]},
        note=f"{assessment.kind} {_value_key(evidence.item)}",
    )


def evidence_download(evidence: Evidence, by) -> str:
    """The path of an evidence file to send (the caller checked the scope), the download
    audited; 404 when the file is not on disk."""
    path = files.path_of(evidence.storage_key)
    if not os.path.isfile(path):
        raise AppError(404)
    application = db.session.get(Application, evidence.assessment.application_id)
    _audit_application(
        "rating_evidence.downloaded",
        application,
        by,
        record=evidence,
        note=evidence.original_name,
    )
    return path


def evidence_of(application: Application, user) -> list[tuple[Assessment, list[Evidence]]]:
    """The evidence files of the application that ``user`` may see, by assessment: the
    self-assessment first, then each assessor's; files oldest first."""
    groups: dict[int, tuple[Assessment, list[Evidence]]] = {}
    for evidence in db.session.scalars(
        visible(Evidence, user)
        .join(Assessment, Assessment.id == Evidence.assessment_id)
        .where(Assessment.application_id == application.id)
        .options(
            selectinload(Evidence.assessment).selectinload(Assessment.by),
            selectinload(Evidence.item).selectinload(Item.section),
        )
        .order_by(Assessment.kind.desc(), Assessment.id, Evidence.id)
    ):
        groups.setdefault(evidence.assessment_id, (evidence.assessment, []))[1].append(evidence)
    return list(groups.values())


def evidence_by_item(application: Application, kind: str, user) -> dict[int, list[Evidence]]:
    """Item id -> the files of the assessment ``user`` works on (as ``kind``)."""
    stmt = (
        visible(Evidence, user)
        .join(Assessment, Assessment.id == Evidence.assessment_id)
        .where(Assessment.application_id == application.id, Assessment.kind == kind)
        .order_by(Evidence.id)
    )
    if kind == AssessmentKind.ASSESSOR:
        stmt = stmt.where(Assessment.by_id == user.id)
    found: dict[int, list[Evidence]] = {}
    for evidence in db.session.scalars(stmt):
        found.setdefault(evidence.item_id, []).append(evidence)
    return found


# --- withdrawing, closing ------------------------------------------------------------------------


def may_withdraw(user, application: Application) -> bool:
    """The facility's own operators, or county staff of the round's county (on its behalf)."""
    role = role_of(user)
    if role == Role.OPERATOR:
        return user.facility_id == application.facility_id
    return can_manage_round(user, application.round)


def withdraw(application: Application, reason: str, by) -> Application:
    """Withdraw an application the committee has not decided yet, with the reason; from
    then on it counts nowhere (no scores, no decision, no grade; the round may close)."""
    if not may_withdraw(by, application):
        raise AppError(403, _l("You do not have permission to do this."))
    lock_application(application)
    if ApplicationStatus(application.status) not in UNDECIDED:
        raise Conflict(_l("Only an application the committee has not decided on can be withdrawn."))
    before = application.status
    application.status = ApplicationStatus.WITHDRAWN.value
    application.withdrawn_at = utcnow()
    application.withdrawn_by_id = by.id
    application.withdraw_reason = reason
    db.session.flush()
    _audit_application(
        "rating_application.withdrawn",
        application,
        by,
        changes={"status": [before, application.status]},
        note=reason[:255],
    )
    return application


def unfinished_in(rnd: Round) -> int:
    """How many applications of the round are neither published, nor no grade, nor
    withdrawn."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Application)
        .where(
            Application.round_id == rnd.id,
            Application.status.not_in([s.value for s in FINISHED]),
        )
    )


def close_round(rnd: Round, by) -> Round:
    """County staff close a round once every application in it is published, has no grade
    or was withdrawn; nothing joins or changes in it afterwards."""
    _require_county_staff(by, rnd.region)
    lock_round(rnd)
    if rnd.status != RoundStatus.OPEN.value:
        raise Conflict(_l("This round is closed."))
    unfinished = unfinished_in(rnd)
    if unfinished:
        raise Conflict(
            _l(
                "%(n)s facilities of the round are not finished yet: publish, decide on or"
                " withdraw them before closing the round.",
                n=unfinished,
            )
        )
    rnd.status = RoundStatus.CLOSED.value
    rnd.closed_at = utcnow()
    rnd.closed_by_id = by.id
    db.session.flush()
    audit.record(
        "rating_round.closed",
        rnd,
        actor=by,
        region_id=rnd.region_id,
        changes={"status": [RoundStatus.OPEN.value, RoundStatus.CLOSED.value]},
    )
    return rnd


# --- helpers for the pages --------------------------------------------------------------------


def can_manage_round(user, rnd: Round) -> bool:
    return is_county_staff_of(user, rnd.region)


def candidates_for(rnd: Round) -> list[Facility]:
    """Active facilities of the county, of a kind the round's scheme rates, not in it yet."""
    kinds = FACILITY_KINDS[SchemeKind(rnd.scheme.kind)]
    taken = sa.select(Application.facility_id).where(Application.round_id == rnd.id)
    return list(
        db.session.scalars(
            sa.select(Facility)
            .where(
                Facility.region_id.in_(Region.subtree_ids(rnd.region)),
                Facility.kind.in_(kinds),
                Facility.active.is_(True),
                Facility.id.not_in(taken),
            )
            .order_by(Facility.name)
        )
    )


def assessor_choices(county: Region) -> list[User]:
    """Who may be appointed in the county: its staff, then its external assessors."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Region, Region.id == User.region_id)
            .where(
                User.role.in_([r.value for r in ASSESSOR_ROLES]),
                User.active.is_(True),
                Region.code.startswith(county.prefix, autoescape=True),
            )
            .order_by(User.role != Role.COUNTY_STAFF.value, User.display_name)
        )
    )


def applications_for(user) -> list[Application]:
    """The applications ``user`` may open, newest round first: an operator's facility's, an
    external assessor's appointments."""
    return list(
        db.session.scalars(
            visible(Application, user)
            .join(Round, Round.id == Application.round_id)
            .options(
                selectinload(Application.facility),
                selectinload(Application.round),
                selectinload(Application.assessors),
            )
            .order_by(Round.year.desc(), Round.id.desc(), Application.id)
        )
    )


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


def entries_from_form(form, application: Application) -> dict:
    """The scoring form as entries: ``score-<item>`` (points, empty = not scored yet),
    ``met-<item>`` ("1" met, "0" not met, empty = not decided), ``note-<item>``."""
    entries: dict[int, dict] = {}
    errors: dict[str, list] = {}
    for section in application.round.scheme.sections:
        for item in section.items:
            note = (form.get(f"note-{item.id}") or "").strip()[:500]
            if item.must_have:
                raw = form.get(f"met-{item.id}", "")
                met = {"1": True, "0": False}.get(raw)
                entries[item.id] = {"met": met, "note": note}
                continue
            raw = (form.get(f"score-{item.id}") or "").strip()
            points = None
            if raw:
                try:
                    points = Decimal(raw)
                except ArithmeticError:
                    errors[f"item-{item.id}"] = [_l("Not a valid number.")]
                    continue
                if not points.is_finite():
                    errors[f"item-{item.id}"] = [_l("Not a valid number.")]
                    continue
            entries[item.id] = {"points": points, "note": note}
    if errors:
        raise Invalid(errors=errors)
    return entries


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
