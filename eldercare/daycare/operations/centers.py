"""A center's settings and its closed days."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.errors import Conflict
from eldercare.daycare.models import Attendance, Center, ClosedDay
from eldercare.daycare.operations.common import (
    audit_center,
    center_of,
    require_operator,
    still_editable,
)
from eldercare.extensions import db
from eldercare.facilities.models import Facility


def save_center(facility: Facility, data: dict, by) -> Center:
    require_operator(by, facility.id)
    center = db.session.scalar(
        sa.select(Center).where(Center.facility_id == facility.id).with_for_update()
    )
    before = {}
    if center is None:
        center = center_of(facility)
        db.session.add(center)
    else:
        before = {k: getattr(center, k) for k in data}
    for key, value in data.items():
        setattr(center, key, value)
    db.session.flush()
    audit_center(
        "daycare.center_saved",
        center,
        by,
        facility.id,
        changes=audit.changes_between(
            {k: str(v) for k, v in before.items()}, {k: str(getattr(center, k)) for k in data}
        ),
    )
    return center


def closed_days(facility_id: int, start: date, end: date) -> set[date]:
    """Closed days in [start, end)."""
    return set(
        db.session.scalars(
            sa.select(ClosedDay.day).where(
                ClosedDay.facility_id == facility_id, ClosedDay.day >= start, ClosedDay.day < end
            )
        )
    )


def add_closed_day(facility: Facility, day: date, reason: str, by) -> ClosedDay:
    require_operator(by, facility.id)
    still_editable(day)
    taken = db.session.scalar(
        sa.select(Attendance.id).where(Attendance.facility_id == facility.id, Attendance.day == day)
    )
    if taken is not None:
        raise Conflict(errors={"day": [_l("People were checked in on this day.")]})
    if db.session.scalar(
        sa.select(ClosedDay.id).where(ClosedDay.facility_id == facility.id, ClosedDay.day == day)
    ):
        raise Conflict(errors={"day": [_l("This day is already closed.")]})
    closed = ClosedDay(facility_id=facility.id, day=day, reason=reason)
    db.session.add(closed)
    db.session.flush()
    audit_center("daycare.closed_day_added", closed, by, facility.id, changes={"day": [None, day]})
    return closed


def remove_closed_day(closed: ClosedDay, by) -> None:
    require_operator(by, closed.facility_id)
    still_editable(closed.day)
    audit_center(
        "daycare.closed_day_removed",
        closed,
        by,
        closed.facility_id,
        changes={"day": [closed.day, None]},
    )
    db.session.delete(closed)
    db.session.flush()


def recent_closed_days(facility: Facility, today: date) -> list[ClosedDay]:
    """The closed days of the settings page: from two months back on."""
    return list(
        db.session.scalars(
            sa.select(ClosedDay)
            .where(
                ClosedDay.facility_id == facility.id, ClosedDay.day >= today - timedelta(days=62)
            )
            .order_by(ClosedDay.day)
        )
    )
