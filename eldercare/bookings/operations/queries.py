"""The lists of bookings the pages show: a family's, a relative's, a facility's week and its
requests to answer."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eldercare.bookings.models import (
    HOLDING_STATUSES,
    OPEN_STATUSES,
    Booking,
    BookingStatus,
    Slot,
)
from eldercare.core.db import local_date, local_zone, utcnow
from eldercare.core.permissions import visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person

# --- lists ---------------------------------------------------------------------------------


#: A list of bookings shows each one's service, facility and relative: loaded with it.
WITH_NAMES = (
    joinedload(Booking.service),
    joinedload(Booking.facility),
    joinedload(Booking.person),
)


def family_bookings(user, upcoming: bool, now=None) -> sa.Select:
    """The bookings of a family member's verified relatives: to come (soonest first) or past
    and ended (latest first), with their services, facilities and relatives."""
    now = now or utcnow()
    stmt = visible(Booking, user).options(*WITH_NAMES)
    if upcoming:
        return stmt.where(Booking.status.in_(OPEN_STATUSES), Booking.ends_at >= now).order_by(
            Booking.starts_at, Booking.id
        )
    return stmt.where(sa.or_(Booking.status.notin_(OPEN_STATUSES), Booking.ends_at < now)).order_by(
        Booking.starts_at.desc(), Booking.id.desc()
    )


def upcoming_bookings(user, now=None) -> list[Booking]:
    """All of a family member's bookings to come (a short list: never paged)."""
    return list(db.session.scalars(family_bookings(user, upcoming=True, now=now)))


def bookings_of_person(person: Person, limit: int = 20) -> list[Booking]:
    """A relative's bookings, newest first, for the family's page of that relative."""
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(Booking.person_id == person.id)
            .options(joinedload(Booking.service), joinedload(Booking.facility))
            .order_by(Booking.starts_at.desc(), Booking.id.desc())
            .limit(limit)
        )
    )


def calendar(facility: Facility, first: date, days: int = 7) -> dict[date, list[Booking]]:
    """A facility's bookings of ``days`` days from ``first``, by local day, in time order
    (one query, with services and relatives loaded)."""
    zone = local_zone()
    rows = db.session.scalars(
        sa.select(Booking)
        .where(
            Booking.facility_id == facility.id,
            Booking.starts_at >= datetime.combine(first, time(0), zone),
            Booking.starts_at < datetime.combine(first + timedelta(days=days), time(0), zone),
        )
        .options(joinedload(Booking.service), joinedload(Booking.person))
        .order_by(Booking.starts_at, Booking.id)
    )
    out: dict[date, list[Booking]] = defaultdict(list)
    for booking in rows:
        out[local_date(booking.starts_at)].append(booking)
    return {first + timedelta(days=i): out.get(first + timedelta(days=i), []) for i in range(days)}


def pending_requests(facility: Facility) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.facility_id == facility.id,
                Booking.status == BookingStatus.REQUESTED.value,
            )
            .options(joinedload(Booking.service), joinedload(Booking.person))
            .order_by(Booking.starts_at, Booking.id)
        )
    )


def check_counts(slot_id: int) -> tuple[int, int]:
    """(the slot's counter, the bookings it holds): equal unless something is wrong. Both
    are read from the database, never from a Slot the session already holds."""
    booked = db.session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id))
    held = db.session.scalar(
        sa.select(sa.func.count(Booking.id)).where(
            Booking.slot_id == slot_id, Booking.status.in_(HOLDING_STATUSES)
        )
    )
    return booked, held
