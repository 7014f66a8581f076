"""Builders for the booking tests: a service with defaults, a family member verified for a
relative, local times some days ahead, and counts of what a booking writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.bookings import operations as ops
from eldercare.bookings.models import Booking, Service, Slot
from eldercare.core.db import local_zone
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.notifications.models import OutboxMessage
from eldercare.people.models import FamilyLink, LinkStatus, Person
from eldercare.regions.models import Region
from tests.builders import build_person, build_user

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def make_service(facility: Facility, **kw) -> Service:
    """A visit service open every day 09:00-17:00 in one-hour slots of two places, booked at
    least 24 hours and at most 14 days ahead, confirmed automatically."""
    values = {
        "kind": "visit",
        "name": "家属探视",
        "weekdays": EVERY_DAY,
        "opens_at": time(9),
        "closes_at": time(17),
        "slot_minutes": 60,
        "capacity": 2,
        "min_notice_hours": 24,
        "max_days_ahead": 14,
        "cancel_hours": 2,
        "auto_confirm": True,
    }
    values.update(kw)
    service = Service(facility_id=facility.id, **values)
    db.session.add(service)
    db.session.flush()
    return service


def family_of(person: Person, **kw) -> User:
    """A family member verified for ``person``."""
    user = build_user("family", **kw)
    db.session.add(
        FamilyLink(
            user_id=user.id,
            person_id=person.id,
            relation="child",
            status=LinkStatus.VERIFIED.value,
        )
    )
    db.session.flush()
    return user


def relative(region: Region, **kw) -> tuple[Person, User]:
    """A new person of ``region`` and a family member verified for them."""
    person = build_person(region, **kw)
    return person, family_of(person)


def today() -> date:
    return datetime.now(local_zone()).date()


def local(day: date, at: time) -> datetime:
    """``at`` o'clock Beijing time on ``day``, as the aware UTC time the database stores."""
    return datetime.combine(day, at, local_zone()).astimezone(UTC)


def slot_start(days: int, at: time = time(9)) -> datetime:
    """The start of the slot at ``at`` (Beijing time), ``days`` local days from today."""
    return local(today() + timedelta(days=days), at)


def morning() -> datetime:
    """10:00 Beijing time today: the "now" the tests pin, so that slots some days ahead are
    always the same number of hours away whatever the time the tests run."""
    return local(today(), time(10))


def book(
    service: Service,
    person: Person,
    user: User,
    starts_at: datetime,
    now: datetime | None = None,
    **data,
) -> Booking:
    """``user`` books ``starts_at`` of ``service`` for ``person``, at ``now`` (this morning)."""
    return ops.book(user, service, person, starts_at, data, now=now or morning())


def slot_of(service: Service, starts_at: datetime) -> Slot | None:
    return db.session.scalar(
        sa.select(Slot).where(Slot.service_id == service.id, Slot.starts_at == starts_at)
    )


def written() -> tuple[int, int, int, int]:
    """(bookings, slots, places taken over all slots, outbox rows), read from the database."""
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Booking)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Slot)),
        db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Slot.booked), 0))),
        db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)),
    )


def messages(user: User, key_prefix: str = "") -> list[OutboxMessage]:
    """The outbox rows of ``user`` whose key starts with ``key_prefix``, oldest first."""
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(
                OutboxMessage.user_id == user.id,
                OutboxMessage.idempotency_key.startswith(key_prefix),
            )
            .order_by(OutboxMessage.id)
        )
    )


def counts_agree(booking_or_slot_id) -> bool:
    slot_id = getattr(booking_or_slot_id, "slot_id", booking_or_slot_id)
    booked, held = ops.check_counts(slot_id)
    return booked == held
