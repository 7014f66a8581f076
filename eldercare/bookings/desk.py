"""Read-only look-ups of the operator's booking pages that the operations do not offer."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.bookings.models import Service
from eldercare.extensions import db
from eldercare.facilities.models import Facility


def service_of(facility: Facility, service_id: int) -> Service | None:
    """The facility's service with this id, or None (another facility's is None too)."""
    return db.session.scalar(
        sa.select(Service).where(Service.id == service_id, Service.facility_id == facility.id)
    )


def monday_of(day: date) -> date:
    """The Monday of the week ``day`` is in (calendar weeks start on Monday in China)."""
    return day - timedelta(days=day.weekday())
