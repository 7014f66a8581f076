"""How the beds feature answers the registry's events (see people.signals)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.beds.models import Bed, Stay
from eldercare.extensions import db
from eldercare.people import signals
from eldercare.people.family import StayLine
from eldercare.people.models import Person


def _open_stay(person: Person) -> Stay | None:
    return db.session.scalar(
        sa.select(Stay)
        .where(Stay.person_id == person.id, Stay.discharged_on.is_(None))
        .join(Bed, Bed.id == Stay.bed_id)
        .order_by(Stay.admitted_on.desc(), Stay.id.desc())
    )


@signals.death_refusals.connect
def _resident_dies_at_discharge(person: Person, **_kwargs):
    """A resident's death is recorded by the facility when it discharges them (which frees
    the bed), not typed into the registry."""
    if _open_stay(person) is None:
        return None
    return _l(
        "This person lives in a care facility: the facility records the death when it "
        "discharges them, which also frees the bed."
    )


@signals.family_sections.connect
def _stay_for_family(person: Person, **_kwargs):
    stay = _open_stay(person)
    if stay is None:
        return {"stay": None}
    return {
        "stay": StayLine(stay.bed.facility.name, stay.first_admitted_on, stay.bed.care_type_label)
    }
