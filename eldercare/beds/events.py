"""How the beds feature answers the registry's events (see people.signals)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.beds.models import Bed, DischargeReason, Reservation, Stay
from eldercare.beds.operations.departures import close_for_death, death_effects, stay_effect
from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.facilities import signals as facility_signals
from eldercare.people import signals
from eldercare.people.family import StayLine
from eldercare.people.models import LifeEventKind, LifeEventSource, Person


def _open_stay(person: Person) -> Stay | None:
    return db.session.scalar(
        sa.select(Stay)
        .where(Stay.person_id == person.id, Stay.discharged_on.is_(None))
        .join(Bed, Bed.id == Stay.bed_id)
        .order_by(Stay.admitted_on.desc(), Stay.id.desc())
    )


@signals.life_event.connect
def _beds_follow_a_death(event, by=None, facility_id=None, **_kwargs):
    """A death: the open stay closes on the date of death and the bed is free; a reservation
    kept for the person ends. A move out of the county ends no stay: nothing here."""
    if event.kind != LifeEventKind.DEATH.value:
        return None
    closed = close_for_death(event.person, event.occurred_on, by, event.facility_id)
    effects = death_effects(closed)
    discharged = _stay_discharged_by(event)
    if closed.stay is None and discharged is not None:
        effects.insert(0, stay_effect(discharged))
    return effects or None


def _stay_discharged_by(event) -> Stay | None:
    """The stay whose discharge recorded this death (its effect is told like any other)."""
    ref = event.source_ref or ""
    number = ref.removeprefix("stay:")
    if event.source != LifeEventSource.DISCHARGE.value or number == ref or not number.isdigit():
        return None
    stay = db.session.get(Stay, int(number))
    if (
        stay is None
        or stay.person_id != event.person_id
        or stay.discharged_on != event.occurred_on
        or stay.discharge_reason != DischargeReason.DEATH.value
    ):
        return None
    return stay


@signals.family_sections.connect
def _stay_for_family(person: Person, **_kwargs):
    stay = _open_stay(person)
    if stay is None:
        return {"stay": None}
    return {
        "stay": StayLine(stay.bed.facility.name, stay.first_admitted_on, stay.bed.care_type_label)
    }


@signals.involved.connect
def _beds_involved(kind, person_ids=(), **_kwargs):
    """A bulk recording's people with an open stay or a reservation (a death only)."""
    if kind != LifeEventKind.DEATH.value:
        return None
    return set(
        db.session.scalars(
            sa.union(
                sa.select(Stay.person_id).where(
                    Stay.person_id.in_(person_ids), Stay.discharged_on.is_(None)
                ),
                sa.select(Reservation.person_id).where(
                    Reservation.person_id.in_(person_ids), Reservation.ended_at.is_(None)
                ),
            )
        )
    )


@facility_signals.closing_refusals.connect
def _beds_still_in_use(facility, **_kwargs):
    """A home cannot stop operating with residents in its beds or beds kept for someone."""
    staying = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Stay)
        .where(Stay.facility_id == facility.id, Stay.discharged_on.is_(None))
    )
    reserved = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Reservation)
        .where(
            Reservation.facility_id == facility.id,
            Reservation.ended_at.is_(None),
            Reservation.expires_at > utcnow(),
        )
    )
    reasons = []
    if staying:
        reasons.append(
            _l(
                "%(count)s residents are still staying: the facility's staff discharge them "
                "first (on its bed board).",
                count=staying,
            )
        )
    if reserved:
        reasons.append(
            _l(
                "%(count)s beds are reserved for someone: the facility's staff release the "
                "reservations first.",
                count=reserved,
            )
        )
    return reasons
