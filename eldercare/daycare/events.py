"""How the day-care feature answers the registry's events (see people.signals)."""

from __future__ import annotations

from eldercare.daycare.operations.departures import departure_effects, end_for_departure
from eldercare.people import signals
from eldercare.people.models import LifeEventKind

#: The events after which the person attends no center.
DEPARTURES = (LifeEventKind.DEATH.value, LifeEventKind.MOVED_OUT.value)


@signals.life_event.connect
def _members_leave_with_the_person(event, by=None, **_kwargs):
    """A death or a move out of the county: the person's current memberships end on the
    date of the event."""
    if event.kind not in DEPARTURES:
        return None
    members = end_for_departure(event.person, event.occurred_on, event.kind, by)
    return departure_effects(members) or None
