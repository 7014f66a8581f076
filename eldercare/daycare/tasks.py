"""Scheduled day-care work, run by the scheduler process (`flask scheduler run`)."""

from __future__ import annotations

from datetime import datetime

from eldercare.daycare.operations import departures
from eldercare.extensions import db


def repair_departed(now: datetime | None = None) -> int:
    """The repair sweep: memberships still current for the dead and the moved out, ended by
    the same operation as the registry's event (audited as a repair). The number ended; 0 on
    a healthy database."""
    count = departures.repair_departed()
    db.session.commit()
    return count
