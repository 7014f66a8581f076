"""Scheduled work of bookings: unanswered requests lapse at their start, and families are
reminded the day before. Each job commits its own work and may be repeated."""

from __future__ import annotations

from datetime import datetime

from eldercare.bookings.operations import sweeps
from eldercare.extensions import db


def expire_requests(now: datetime | None = None) -> int:
    count = sweeps.expire_requests(now)
    db.session.commit()
    return count


def send_reminders(now: datetime | None = None) -> int:
    count = sweeps.due_reminders(now)
    db.session.commit()
    return count


def cancel_for_the_deceased(now: datetime | None = None) -> int:
    count = sweeps.cancel_for_the_deceased(now)
    db.session.commit()
    return count
