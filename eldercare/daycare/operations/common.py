"""What every day-care operation shares: the center's settings and who operates it, the
days records may still be changed, and the messages of a race the database refuses."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.db import local_today
from eldercare.core.errors import CONSTRAINT_MESSAGES, AppError, Conflict, Invalid
from eldercare.core.permissions import operates
from eldercare.daycare.models import DAYCARE_KINDS, Center, ClosedDay
from eldercare.extensions import db
from eldercare.facilities.models import Facility

# A race past an operation's own check ends at the database: PostgreSQL names the constraint,
# SQLite the columns.
_TWICE = {
    "attendance": (
        ("facility_id", "day", "person_id"),
        _l("Already checked in on this day."),
    ),
    "meal": (
        ("facility_id", "day", "person_id", "meal_type"),
        _l("This meal is already recorded."),
    ),
    "closed_day": (("facility_id", "day"), _l("This day is already closed.")),
}
for _table, (_columns, _message) in _TWICE.items():
    CONSTRAINT_MESSAGES[f"uq_daycare_{_table}_{'_'.join(_columns)}"] = _message
    CONSTRAINT_MESSAGES[", ".join(f"daycare_{_table}.{c}" for c in _columns)] = _message
CONSTRAINT_MESSAGES["uq_daycare_member_current"] = _l("This person is already a member.")
CONSTRAINT_MESSAGES["daycare_member.facility_id, daycare_member.person_id"] = _l(
    "This person is already a member."
)


def runs_daycare(facility: Facility) -> bool:
    return facility.kind in DAYCARE_KINDS


def require_operator(user, facility_id: int) -> None:
    if not operates(user, facility_id):
        raise AppError(403, _l("You do not have permission to do this."))


def center_of(facility: Facility) -> Center:
    """The center's settings; a center never configured has the defaults (unsaved)."""
    center = db.session.scalar(sa.select(Center).where(Center.facility_id == facility.id))
    if center is None:
        center = Center(
            facility_id=facility.id,
            capacity=Center.capacity.default.arg,
            open_days=[0, 1, 2, 3, 4],
            meal_types=["lunch"],
            meal_price_fen=Center.meal_price_fen.default.arg,
        )
    return center


def audit_center(action: str, record, by, facility_id: int, **entry) -> None:
    """Filed under the center's area, so the county's staff find it in the audit log."""
    entry["region_id"] = db.session.get(Facility, facility_id).region_id
    audit.record(action, record, actor=by, facility_id=facility_id, **entry)


#: Attendance, meals and closed days older than this are history: the monthly reports that
#: counted them have gone out as subsidy evidence.
EDIT_WINDOW_DAYS = 62


def not_future(day: date, name: str = "day") -> None:
    if day > local_today():
        raise Invalid(errors={name: [_l("The date is in the future.")]})


def still_editable(day: date, name: str = "day") -> None:
    if day < local_today() - timedelta(days=EDIT_WINDOW_DAYS):
        raise Conflict(
            errors={
                name: [
                    _l(
                        "Records older than %(days)s days cannot be changed.",
                        days=EDIT_WINDOW_DAYS,
                    )
                ]
            }
        )


def open_on(facility: Facility, day: date) -> None:
    closed = db.session.scalar(
        sa.select(ClosedDay.id).where(ClosedDay.facility_id == facility.id, ClosedDay.day == day)
    )
    if closed is not None:
        raise Conflict(_l("The center is closed on this day."))
    if day.weekday() not in (center_of(facility).open_days or []):
        raise Conflict(
            _l("The center does not open on this day of the week; change its opening days first.")
        )
