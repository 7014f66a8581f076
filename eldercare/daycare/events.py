"""How the day-care feature answers the registry's events (see people.signals)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.daycare.models import Member
from eldercare.daycare.operations.departures import departure_effects, end_for_departure
from eldercare.extensions import db
from eldercare.facilities import signals as facility_signals
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


@signals.involved.connect
def _daycare_involved(kind, person_ids=(), **_kwargs):
    """A bulk recording's people who are members of a center."""
    return set(
        db.session.scalars(
            sa.select(Member.person_id).where(
                Member.person_id.in_(person_ids), Member.left_on.is_(None)
            )
        )
    )


@facility_signals.closing_refusals.connect
def _members_still_enrolled(facility, **_kwargs):
    """A center cannot stop operating with members on its roll."""
    members = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Member)
        .where(Member.facility_id == facility.id, Member.left_on.is_(None))
    )
    if not members:
        return None
    return [
        _l(
            "%(count)s people are current day-care members: the center ends their "
            "memberships first.",
            count=members,
        )
    ]
