"""A person the county no longer serves (dead, or moved out of the county): the visit plan
ends on the day, the visitors are released, and nothing about the person still waiting in
the outbox goes out. One operation for the registry's event and for the nightly repair."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from eldercare.core.db import local_date, utcnow
from eldercare.extensions import db
from eldercare.notifications.operations import cancel_about, cancel_pending, notify_many
from eldercare.people.models import Person
from eldercare.visits import notices
from eldercare.visits.due_lines import digest_lines
from eldercare.visits.models import CareTarget, EndReason
from eldercare.visits.operations.plans import end_target

#: What is written on the cancelled messages (for the administrators' outbox).
CANCEL_REASONS = {
    EndReason.DEATH.value: "cancelled: the person it is about died",
    EndReason.MOVED.value: "cancelled: the person it is about moved out of the county",
}


def departure_of(person: Person) -> tuple[str, date] | None:
    """(end reason, day) for a person the county no longer serves, else None."""
    if person.death_date is not None:
        return EndReason.DEATH.value, person.death_date
    if person.moved_out_on is not None:
        return EndReason.MOVED.value, person.moved_out_on
    return None


def follow_departure(
    person: Person, reason: str, on: date, by=None, *, note: str = "", now: datetime | None = None
) -> CareTarget | None:
    """End the person's active plan on ``on`` (on the enrolment day if the plan was enrolled
    after it: a plan never ends before it began), release its visitors, cancel the messages
    about the person still waiting, and write again without the person the digests of the
    visitors that were still waiting. The plan it ended, or None (nothing was active: a
    second call does nothing). Never commits."""
    target = db.session.scalar(
        sa.select(CareTarget)
        .where(CareTarget.person_id == person.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    ended = None
    visitor_ids: list[int] = []
    if target is not None and target.active:
        visitor_ids = [a.visitor_id for a in target.assignments]
        end_target(target, reason, max(on, target.enrolled_on), by, check=False, note=note)
        ended = target
    cancel_about(person.id, CANCEL_REASONS.get(reason, "cancelled"))
    if visitor_ids:
        rewrite_digests(visitor_ids, ended.id, reason, now)
    return ended


def rewrite_digests(
    visitor_ids: list[int], target_id: int, reason: str, now: datetime | None = None
) -> int:
    """The visitors' digests still waiting may list the person who left: cancel them, and
    write today's again from the plans as they are now (without the person), on the channels
    whose copy was cancelled, under a new key. How many messages were written again."""
    now = now or utcnow()
    today = local_date(now)
    cancelled = cancel_pending(
        notices.digest_prefix_all(), visitor_ids, CANCEL_REASONS.get(reason, "cancelled")
    )
    channels: dict[int, list[str]] = {}
    for user_id, key, channel in cancelled:
        if key.startswith(notices.digest_prefix(user_id, today)):  # older days: not again
            channels.setdefault(user_id, []).append(channel)
    if not channels:
        return 0
    by_user, locales = digest_lines(today, now, channels)
    written = notices.digest(
        locales,
        by_user,
        today,
        again=f"without-{target_id}",
        channels={uid: tuple(sorted(set(c))) for uid, c in channels.items()},
    )
    return notify_many(written)


def _departed() -> sa.ColumnElement[bool]:
    return sa.or_(Person.death_date.is_not(None), Person.moved_out_on.is_not(None))


def departed_people() -> sa.Select:
    """The ids of the people the county no longer serves (a subquery)."""
    return sa.select(Person.id).where(_departed())


def active_plans_of_departed() -> list[CareTarget]:
    return list(
        db.session.scalars(
            sa.select(CareTarget)
            .join(Person, Person.id == CareTarget.person_id)
            .where(CareTarget.active.is_(True), _departed())
            .order_by(CareTarget.id)
        )
    )


def ended_plans_with_visitors() -> list[CareTarget]:
    return list(
        db.session.scalars(
            sa.select(CareTarget)
            .where(CareTarget.active.is_(False), CareTarget.assignments.any())
            .order_by(CareTarget.id)
        )
    )


__all__ = [
    "active_plans_of_departed",
    "departed_people",
    "departure_of",
    "ended_plans_with_visitors",
    "follow_departure",
    "rewrite_digests",
]
