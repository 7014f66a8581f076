"""What the scheduled jobs do (``bookings.tasks`` commits): unanswered requests lapse,
reminders the day before (the bookings of the dead and the moved out: ``departures``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eldercare.bookings import notices
from eldercare.bookings.models import (
    LAPSED_REASON,
    Booking,
    BookingStatus,
)
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
            # Nobody is reminded of a booking for someone who has died or moved away, nor by
            # a relative whose link is no longer verified.
            Person.death_date.is_(None),
            Person.moved_out_on.is_(None),
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
