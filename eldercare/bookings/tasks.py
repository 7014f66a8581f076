"""Scheduled work of bookings: unanswered requests lapse at their start, and families are
reminded the day before; the repair sweep cancels what the dead and the moved out still
hold. Each job commits its own work and may be repeated."""

from __future__ import annotations

from datetime import datetime

from eldercare.bookings.operations import departures, sweeps
from eldercare.extensions import db


def expire_requests(now: datetime | None = None) -> int:
    count = sweeps.expire_requests(now)
    db.session.commit()
    return count


def send_reminders(now: datetime | None = None) -> int:
    count = sweeps.due_reminders(now)
    db.session.commit()
    return count


def repair_departed(now: datetime | None = None) -> int:
    """The repair sweep: open bookings of the dead and the moved out that their event left
    (0 when every event was answered)."""
    count = departures.repair_departed(now)
    db.session.commit()
    return count
