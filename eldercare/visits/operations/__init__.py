"""Visit care, by the life of a plan: the county's rules and tiers (``policy``), enrolment to
the end of a plan (``plans``), its visitors (``assignments``), visits and their corrections
(``visits``), major events and follow-ups (``follow_ups``), and the lists of the pages
(``queries``). Who may do what is in ``common``, shared by the operations and the pages."""

from eldercare.visits.operations.assignments import (
    assign,
    assignable_visitors,
    unassign,
    visitor_by_id,
    visitors_in_area,
)
from eldercare.visits.operations.common import allowed_actions, can_manage, can_record
from eldercare.visits.operations.departures import departure_of, follow_departure
from eldercare.visits.operations.follow_ups import close_follow_up, report_event
from eldercare.visits.operations.plans import (
    candidates,
    close_assignments,
    end_target,
    enrol,
    enrol_by_id,
    enrol_many,
    person_changed,
    plan_of,
    search_candidates,
    set_override,
)
from eldercare.visits.operations.policy import (
    categories_of,
    compute_tier,
    current_ability,
    policy_for,
    recompute_birthdays,
    recompute_tier,
    refresh_due,
    save_policy,
)
from eldercare.visits.operations.queries import (
    _soon_days_for,
    due_list,
    events_of,
    open_follow_ups,
    overdue_in,
    reloaded,
    search_targets,
    status_condition,
    visits_of,
)
from eldercare.visits.operations.visits import (
    CORRECTION_HOURS,
    correct_visit,
    correctable_token,
    record_visit,
)

__all__ = [
    "CORRECTION_HOURS",
    "_soon_days_for",
    "allowed_actions",
    "assign",
    "assignable_visitors",
    "can_manage",
    "can_record",
    "candidates",
    "categories_of",
    "close_assignments",
    "close_follow_up",
    "compute_tier",
    "correct_visit",
    "correctable_token",
    "current_ability",
    "departure_of",
    "due_list",
    "end_target",
    "enrol",
    "enrol_by_id",
    "enrol_many",
    "events_of",
    "follow_departure",
    "open_follow_ups",
    "overdue_in",
    "person_changed",
    "plan_of",
    "policy_for",
    "recompute_birthdays",
    "recompute_tier",
    "record_visit",
    "refresh_due",
    "reloaded",
    "report_event",
    "save_policy",
    "search_candidates",
    "search_targets",
    "set_override",
    "status_condition",
    "unassign",
    "visitor_by_id",
    "visitors_in_area",
    "visits_of",
]
