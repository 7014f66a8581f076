"""How the beds feature answers the registry's events (see people.signals)."""

from __future__ import annotations

import sqlalchemy as sa

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


@signals.family_sections.connect
def _stay_for_family(person: Person, **_kwargs):
    stay = _open_stay(person)
    if stay is None:
        return {"stay": None}
    return {
        "stay": StayLine(stay.bed.facility.name, stay.first_admitted_on, stay.bed.care_type_label)
    }
