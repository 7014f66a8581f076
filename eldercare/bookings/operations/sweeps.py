"""What the scheduled jobs do (``bookings.tasks`` commits): unanswered requests lapse,
reminders the day before, bookings of the deceased end."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eldercare.bookings import notices
from eldercare.bookings.models import (
    LAPSED_REASON,
    OPEN_STATUSES,
    Booking,
    BookingStatus,
)
from eldercare.bookings.operations.lifecycle import _cancelled, _operators
from eldercare.core import audit
from eldercare.core.db import local_date, local_zone, utcnow
from eldercare.extensions import db
from eldercare.notifications.operations import notify_many
from eldercare.people.models import FamilyLink, LinkStatus, Person

# --- scheduled work ------------------------------------------------------------------------


def expire_requests(now: datetime | None = None) -> int:
    """Requests the operator never answered before their start are cancelled, and the family
    told, so no request waits forever."""
    now = now or utcnow()
    stale = list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.status == BookingStatus.REQUESTED.value,
                Booking.starts_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for booking in stale:
        booking.status = BookingStatus.CANCELLED.value
        booking.ended_at = now
        booking.reason = LAPSED_REASON
        audit.record(
            "booking.expired",
            booking,
            changes={"status": [BookingStatus.REQUESTED.value, booking.status]},
        )
    db.session.flush()
    if stale:
        notify_many(n for booking in stale for n in notices.expired(booking))
    return len(stale)


def due_reminders(now: datetime | None = None) -> int:
    """A reminder the day before each confirmed booking of tomorrow (local days); the
    outbox key makes a second run enqueue nothing."""
    now = now or utcnow()
    tomorrow = local_date(now) + timedelta(days=1)
    zone = local_zone()
    bookings = db.session.scalars(
        sa.select(Booking)
        .join(Person, Person.id == Booking.person_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED.value,
            Booking.starts_at >= datetime.combine(tomorrow, time(0), zone),
            Booking.starts_at < datetime.combine(tomorrow + timedelta(days=1), time(0), zone),
            # Nobody is reminded of a booking for someone who has died, nor by a relative
            # whose link is no longer verified.
            Person.death_date.is_(None),
            sa.exists().where(
                FamilyLink.user_id == Booking.user_id,
                FamilyLink.person_id == Booking.person_id,
                FamilyLink.status == LinkStatus.VERIFIED.value,
            ),
        )
        .options(
            joinedload(Booking.service),
            joinedload(Booking.user),
            joinedload(Booking.person),
            joinedload(Booking.facility),
        )
        .order_by(Booking.id)
    )
    return notify_many(n for booking in bookings for n in notices.reminder(booking))


#: The reason of a booking cancelled because the relative's death was recorded.
DECEASED_REASON = "deceased"


def cancel_for_the_deceased(now: datetime | None = None) -> int:
    """Open bookings of people whose death is recorded are cancelled (their places given
    back, an admission's bed released) and the facility told; the family is not sent booking
    notices about a parent who has died."""
    now = now or utcnow()
    bookings = list(
        db.session.scalars(
            sa.select(Booking)
            .join(Person, Person.id == Booking.person_id)
            .where(Booking.status.in_(OPEN_STATUSES), Person.death_date.is_not(None))
            .order_by(Booking.id)
            .with_for_update(of=Booking, skip_locked=True)
        )
    )
    for booking in bookings:
        _cancelled(booking, None, DECEASED_REASON, now)
        notify_many(notices.cancelled_by_family(booking, _operators(booking.facility_id)))
    return len(bookings)
