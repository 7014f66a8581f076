"""Scheduled bed work, run by the scheduler process (`flask scheduler run`)."""

from __future__ import annotations

from datetime import datetime

from eldercare.beds import operations
from eldercare.beds.operations import departures
from eldercare.extensions import db


def expire_reservations(now: datetime | None = None) -> int:
    """End every reservation that has run out and free its bed; how many were ended."""
    count = operations.expire_reservations(now=now)
    db.session.commit()
    return count


def repair_departed(now: datetime | None = None) -> int:
    """The repair sweep: stays still open after a death and reservations still kept for the
    dead, closed by the same operation as the registry's event (audited as a repair, the
    facility told). The number closed; 0 on a healthy database."""
    count = departures.repair_departed(now=now)
    db.session.commit()
    return count
