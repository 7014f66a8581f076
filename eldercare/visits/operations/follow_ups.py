"""What a visit or a report brings up: a major event (a visit due within hours, the visitors
told at once) and a problem to follow up (owned by the township's staff until closed)."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.auth.models import User
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict
from eldercare.core.permissions import Role
from eldercare.extensions import db
from eldercare.regions.models import Level, Region
from eldercare.visits.models import CareTarget, FollowUp, MajorEvent, Visit
from eldercare.visits.operations.common import can_record, lock_target, still_visited
from eldercare.visits.operations.policy import policy_for, refresh_due


def township_staff_of(region: Region) -> list[User]:
    """Active township staff of the township a village or township belongs to."""
    node = region
    while node is not None and node.level not in (Level.TOWNSHIP.value, Level.COUNTY.value):
        node = node.parent
    if node is None or node.level != Level.TOWNSHIP.value:
        return []
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.role == Role.TOWNSHIP_STAFF.value,
                User.active.is_(True),
                User.region_id == node.id,
            )
            .order_by(User.id)
        )
    )


def add_follow_up(visit: Visit, problem: str, due_on: date, by) -> FollowUp:
    """A problem found on a visit: assigned to the township staff of the person's area
    when there is one, else to whoever found it."""
    target = visit.target
    owner = township_staff_of(target.person.region)
    follow_up = FollowUp(
        visit_id=visit.id,
        target_id=target.id,
        problem=problem,
        assigned_to_id=(owner[0].id if owner else by.id),
        due_on=due_on,
    )
    db.session.add(follow_up)
    db.session.flush()
    audit.record(
        "follow_up.opened",
        follow_up,
        actor=by,
        region_id=target.person.region_id,
        changes={"due_on": [None, due_on]},
    )
    return follow_up


def close_follow_up(follow_up: FollowUp, resolution: str, by) -> FollowUp:
    # The person's visitors may close it too: they often settle it on the next visit.
    if not (can_record(by, follow_up.target) or follow_up.assigned_to_id == by.id):
        raise AppError(403, _l("You do not have permission to do this."))
    if follow_up.closed_at is not None:
        raise Conflict(_l("This follow-up is already closed."))
    follow_up.closed_at = utcnow()
    follow_up.closed_by_id = by.id
    follow_up.resolution = resolution
    db.session.flush()
    audit.record(
        "follow_up.closed",
        follow_up,
        actor=by,
        region_id=follow_up.target.person.region_id,
        changes={"closed_at": [None, follow_up.closed_at]},
    )
    return follow_up


def report_event(target: CareTarget, data: dict, by) -> MajorEvent:
    """A major event: a visit is due within the policy's hours, and the assigned visitors are
    told at once (through the outbox, in this same transaction)."""
    if not can_record(by, target):
        raise AppError(403, _l("You do not have permission to do this."))
    target = lock_target(target.id)
    still_visited(target)
    policy = policy_for(target.county_id)
    occurred_at = data["occurred_at"].astimezone(UTC)
    event = MajorEvent(
        target_id=target.id,
        kind=data["kind"],
        occurred_at=occurred_at,
        visit_due_at=occurred_at + timedelta(hours=policy.event_visit_hours),
        note=data.get("note", ""),
        reported_by_id=by.id,
    )
    db.session.add(event)
    # Reported late: a visit already made after the event answers it.
    event.answered_by_visit_id = db.session.scalar(
        sa.select(Visit.id)
        .where(Visit.target_id == target.id, Visit.visited_at >= occurred_at)
        .order_by(Visit.visited_at)
        .limit(1)
    )
    db.session.flush()
    refresh_due(target, policy)
    audit.record(
        "visit_event.reported",
        event,
        actor=by,
        region_id=target.person.region_id,
        changes={"kind": [None, event.kind], "visit_due_at": [None, event.visit_due_at]},
    )
    from eldercare.visits import notices

    notices.event_reported(target, event)
    return event
