"""Scheduled bed work, run by the scheduler process (`flask scheduler run`)."""

from __future__ import annotations

from datetime import datetime

from eldercare.beds import operations
from eldercare.extensions import db


def expire_reservations(now: datetime | None = None) -> int:
    """End every reservation that has run out and free its bed; how many were ended."""
    count = operations.expire_reservations(now=now)
    db.session.commit()
    return count
