"""Day-care operations, by what a center does: its settings and closed days (``centers``),
members (``members``), the day's attendance and meals (``attendance``), activities and
incidents (``activities``). Operators act on their own center; staff of the area read."""

from eldercare.daycare.operations.activities import (
    activities_of,
    add_activity,
    close_incident,
    incidents_of,
    report_incident,
)
from eldercare.daycare.operations.attendance import (
    cancel_attendance,
    check_in,
    check_out,
    remove_meal,
    roster,
    serve_meal,
)
from eldercare.daycare.operations.centers import (
    add_closed_day,
    recent_closed_days,
    remove_closed_day,
    save_center,
)
from eldercare.daycare.operations.common import center_of, runs_daycare
from eldercare.daycare.operations.members import (
    add_member,
    end_membership,
    members_of,
    person_for,
    reloaded,
    update_member,
)

__all__ = [
    "activities_of",
    "add_activity",
    "add_closed_day",
    "add_member",
    "cancel_attendance",
    "center_of",
    "check_in",
    "check_out",
    "close_incident",
    "end_membership",
    "incidents_of",
    "members_of",
    "person_for",
    "recent_closed_days",
    "reloaded",
    "remove_closed_day",
    "remove_meal",
    "report_incident",
    "roster",
    "runs_daycare",
    "save_center",
    "serve_meal",
    "update_member",
]
