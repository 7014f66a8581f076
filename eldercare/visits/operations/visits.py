"""Recording a visit, and correcting it: a form sent again with the same client token (a
retry after a lost reply) returns the visit it recorded, or, changed meanwhile, is applied to
it by its recorder within the correction window."""

from __future__ import annotations

from datetime import UTC, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.db import local_date, local_today, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.templating import local_time
from eldercare.extensions import db
from eldercare.visits.models import CareTarget, MajorEvent, Visit
from eldercare.visits.operations.common import can_record, lock_target, still_visited
from eldercare.visits.operations.follow_ups import add_follow_up
from eldercare.visits.operations.policy import refresh_due

#: The visit form's fields a visit keeps as they were sent.
VISIT_FIELDS = (
    "method",
    "living_conditions",
    "health",
    "mood",
    "family_support",
    "safety_hazards",
    "services_received",
    "needs_referred",
    "summary",
)


def record_visit(target: CareTarget, data: dict, by) -> tuple[Visit, bool]:
    """Record a visit; returns (visit, created). A form sent again with the same client
    token (lost signal, signing in again) returns the visit already recorded."""
    if not can_record(by, target):
        raise AppError(403, _l("You do not have permission to do this."))
    token = data.get("client_token")
    visited_at = data["visited_at"].astimezone(UTC)
    # Under the plan's lock, so that two copies of one form sent at once meet here.
    target = lock_target(target.id)
    if token:
        earlier = db.session.scalar(sa.select(Visit).where(Visit.client_token == token))
        if earlier is not None:
            mine = earlier.target_id == target.id and earlier.visitor_id == by.id
            changes = visit_differences(earlier, data) if mine else {}
            if mine and not changes:
                return earlier, False
            if mine:  # the first copy was saved (its reply lost), then the draft was changed
                time = local_time(earlier.visited_at)
                said = (
                    _l(
                        "This form was already recorded as the visit of %(time)s, and your "
                        "entries differ from it. Apply your corrections to the saved visit, "
                        "or press Submit to record a separate visit.",
                        time=time,
                    )
                    if can_correct(by, earlier)
                    else _l(
                        "This form was already recorded as the visit of %(time)s, and your "
                        "entries differ from it. It can no longer be corrected here (more "
                        "than %(hours)s hours ago); press Submit to record a separate visit.",
                        time=time,
                        hours=CORRECTION_HOURS,
                    )
                )
                raise Conflict(errors={"client_token": [said, describe_differences(changes)]})
            # An old draft reused for a new visit: send it as a new form.
            raise Conflict(
                errors={
                    "client_token": [
                        _l(
                            "This form was already sent for the visit of %(time)s. Check "
                            "the entries and press Submit again to record a new visit.",
                            time=local_time(earlier.visited_at),
                        )
                    ]
                }
            )
    still_visited(target)
    if local_date(visited_at) < target.enrolled_on:
        raise Invalid(errors={"visited_at": [_l("The date is before the enrolment.")]})
    visit = Visit(
        target_id=target.id,
        visitor_id=by.id,
        visited_at=visited_at,
        health_notes=data.get("health_notes") or None,
        location_text=data.get("location_text") or None,
        client_token=token,
        **{name: data.get(name, "") for name in VISIT_FIELDS},
    )
    db.session.add(visit)
    db.session.flush()
    if data.get("follow_up"):
        add_follow_up(
            visit,
            data["follow_up"],
            data.get("follow_up_due_on") or local_today() + timedelta(days=7),
            by,
        )
    # A visit after a major event answers it.
    for event in db.session.scalars(
        sa.select(MajorEvent).where(
            MajorEvent.target_id == target.id,
            MajorEvent.answered_by_visit_id.is_(None),
            MajorEvent.occurred_at <= visited_at,
        )
    ):
        event.answered_by_visit_id = visit.id
    refresh_due(target)
    audit.record(
        "visit.recorded",
        visit,
        actor=by,
        region_id=target.person.region_id,
        changes={
            "visited_at": [None, visited_at],
            "method": [None, visit.method],
            "next_due_on": [None, target.next_due_on],
        },
    )
    return visit, True


#: A visit's recorder may correct it this long after recording it (a draft sent again
#: after a lost reply); later changes would rewrite figures already reported.
CORRECTION_HOURS = 72
#: Fields shown in a correction but never written into the audit log in clear.
SENSITIVE_FIELDS = ("health_notes", "location_text")


def can_correct(user, visit: Visit) -> bool:
    """The recorder of a visit, within the correction window."""
    return (
        visit.visitor_id == user.id
        and visit.created_at is not None
        and utcnow() - visit.created_at <= timedelta(hours=CORRECTION_HOURS)
    )


def correctable_token(target: CareTarget, token: str | None, user) -> bool:
    """Whether ``token`` names a visit of ``target`` that ``user`` may still correct."""
    if not token:
        return False
    visit = db.session.scalar(
        sa.select(Visit).where(Visit.client_token == token, Visit.target_id == target.id)
    )
    return visit is not None and can_correct(user, visit)


def visit_differences(visit: Visit, data: dict) -> dict[str, list]:
    """field -> [saved, sent] for what a form sent again changes of the saved visit. An
    empty follow-up never removes one (follow-ups are closed, not deleted)."""
    changes: dict[str, list] = {}
    visited_at = data["visited_at"].astimezone(UTC)
    if visit.visited_at != visited_at:
        changes["visited_at"] = [visit.visited_at, visited_at]
    for name in VISIT_FIELDS:
        if getattr(visit, name) != data.get(name, ""):
            changes[name] = [getattr(visit, name), data.get(name, "")]
    for name in SENSITIVE_FIELDS:
        if (getattr(visit, name) or "") != (data.get(name) or ""):
            changes[name] = [getattr(visit, name) or "", data.get(name) or ""]
    problem = data.get("follow_up") or ""
    saved = visit.follow_ups[0].problem if visit.follow_ups else ""
    if problem and problem != saved:
        changes["follow_up"] = [saved, problem]
    return changes


def describe_differences(changes: dict[str, list]) -> str:
    """The changed fields named in words, for the visitor to check."""
    from eldercare.visits.models import FINDING_CHOICES, FINDING_LABELS, METHOD_LABELS

    names = {
        "visited_at": _l("Date and time of the visit"),
        "method": _l("How"),
        "safety_hazards": _l("Safety hazards found"),
        "services_received": _l("Care services received"),
        "needs_referred": _l("Needs referred"),
        "summary": _l("What happened"),
        "health_notes": _l("Health notes"),
        "location_text": _l("Where (optional)"),
        "follow_up": _l("Problem to follow up"),
        **FINDING_LABELS,
    }
    parts = []
    for name, (old, new) in changes.items():
        if name == "visited_at":
            old, new = local_time(old), local_time(new)
        elif name == "method":
            old, new = METHOD_LABELS[old], METHOD_LABELS[new]
        elif name in FINDING_CHOICES:
            old, new = FINDING_CHOICES[name][old], FINDING_CHOICES[name][new]
        if len(str(old)) > 40 or len(str(new)) > 40 or name in ("summary", "health_notes"):
            parts.append(str(names[name]))
        else:
            parts.append(f"{names[name]}: {old or '—'} → {new or '—'}")
    return str(_l("Changed: %(fields)s", fields="；".join(parts)))


def correct_visit(target: CareTarget, data: dict, by) -> Visit:
    """Apply a form sent again (same client token) to the visit it already recorded: an
    audited edit by the visit's recorder within ``CORRECTION_HOURS``."""
    token = data.get("corrects_token") or data.get("client_token")
    target = lock_target(target.id)
    visit = (
        db.session.scalar(
            sa.select(Visit).where(Visit.client_token == token, Visit.target_id == target.id)
        )
        if token
        else None
    )
    if visit is None:
        raise Conflict(_l("The visit to correct was not found; press Submit to record it."))
    if visit.visitor_id != by.id:
        raise AppError(403, _l("Only the visitor who recorded a visit may correct it."))
    if not can_correct(by, visit):
        raise Conflict(
            _l(
                "This visit was recorded more than %(hours)s hours ago and can no longer be "
                "corrected here.",
                hours=CORRECTION_HOURS,
            )
        )
    changes = visit_differences(visit, data)
    if not changes:
        return visit
    visited_at = data["visited_at"].astimezone(UTC)
    if local_date(visited_at) < target.enrolled_on:
        raise Invalid(errors={"visited_at": [_l("The date is before the enrolment.")]})
    visit.visited_at = visited_at
    for name in VISIT_FIELDS:
        setattr(visit, name, data.get(name, ""))
    for name in SENSITIVE_FIELDS:
        setattr(visit, name, data.get(name) or None)
    if "follow_up" in changes:
        open_one = next((f for f in visit.follow_ups if f.is_open), None)
        due_on = data.get("follow_up_due_on") or local_today() + timedelta(days=7)
        if open_one is None:
            add_follow_up(visit, data["follow_up"], due_on, by)
        else:
            open_one.problem = data["follow_up"]
            open_one.due_on = due_on
    for event in db.session.scalars(
        sa.select(MajorEvent).where(
            MajorEvent.target_id == target.id,
            MajorEvent.answered_by_visit_id.is_(None),
            MajorEvent.occurred_at <= visited_at,
        )
    ):
        event.answered_by_visit_id = visit.id
    before_due = target.next_due_on
    refresh_due(target)
    logged = {
        name: (["…", "…"] if name in SENSITIVE_FIELDS else values)
        for name, values in changes.items()
    }
    if target.next_due_on != before_due:
        logged["next_due_on"] = [before_due, target.next_due_on]
    audit.record(
        "visit.corrected",
        visit,
        actor=by,
        region_id=target.person.region_id,
        changes=logged,
    )
    return visit
