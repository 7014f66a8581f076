"""How the bookings feature answers the registry's events (see people.signals)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.bookings import operations as ops
from eldercare.bookings.models import OPEN_STATUSES, Booking
from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.facilities import signals as facility_signals
from eldercare.people import signals
from eldercare.people.family import BookingLine
from eldercare.people.models import LifeEventKind, Person

#: The events after which the person books nothing more.
DEPARTURES = (LifeEventKind.DEATH.value, LifeEventKind.MOVED_OUT.value)


@signals.life_event.connect
def _bookings_end_with_the_person(event, by=None, **_kwargs):
    """A death or a move out of the county: the person's open bookings that have not ended
    are cancelled, places given back, the facilities told; the relatives read the list in
    the registry's one notice (the Effect's ``family``)."""
    if event.kind not in DEPARTURES:
        return None
    effect = ops.departure_effect(ops.cancel_for_departure(event.person, by))
    return [effect] if effect else None


@signals.link_revoked.connect
def _bookings_end_with_the_link(link, by=None, **_kwargs):
    """A family member whose link is revoked no longer books for that person."""
    ops.cancel_for_revoked_link(link.user_id, link.person_id, by)


@signals.family_sections.connect
def _bookings_for_family(person: Person, **_kwargs):
    return {
        "bookings": [
            BookingLine(
                booking_id=b.id,
                starts_at=b.starts_at,
                ends_at=b.ends_at,
                service_name=b.service.name,
                facility_name=b.facility.name,
                status=b.status,
                status_label=b.status_label,
            )
            for b in ops.bookings_of_person(person)
        ]
    }


@signals.involved.connect
def _bookings_involved(kind, person_ids=(), **_kwargs):
    """A bulk recording's people with an open booking."""
    return set(
        db.session.scalars(
            sa.select(Booking.person_id).where(
                Booking.person_id.in_(person_ids), Booking.status.in_(OPEN_STATUSES)
            )
        )
    )


@facility_signals.closing_refusals.connect
def _bookings_still_to_come(facility, **_kwargs):
    """A facility cannot stop operating with families' bookings still to come."""
    coming = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Booking)
        .where(
            Booking.facility_id == facility.id,
            Booking.status.in_(OPEN_STATUSES),
            Booking.ends_at > utcnow(),
        )
    )
    if not coming:
        return None
    return [
        _l(
            "%(count)s bookings are still to come: the facility cancels them first (the "
            "families are told) and stops its services taking new ones.",
            count=coming,
        )
    ]
