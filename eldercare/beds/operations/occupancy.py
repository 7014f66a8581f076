"""What was true on a day: who was in a bed, which beds existed and were in service, the
occupancy of facilities; and the board of today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from eldercare.beds import history
from eldercare.beds.models import (
    Bed,
    Outage,
    Stay,
)
from eldercare.extensions import db
from eldercare.facilities.models import Facility

# --- what was true on a day ----------------------------------------------------------------


def stay_on(day):
    """SQL condition on ``Stay``: it covers ``day`` (a date or a date column): admitted on or
    before it and not yet gone. A held bed (resident on leave) is covered too."""
    return sa.and_(
        Stay.admitted_on <= day, sa.or_(Stay.discharged_on.is_(None), Stay.discharged_on > day)
    )


def bed_existed_on(day):
    """SQL condition on ``Bed``: the bed existed on ``day``: created by then, or holding a
    stay by then (history entered after the fact)."""
    early_stay = sa.select(Stay.id).where(Stay.bed_id == Bed.id, Stay.admitted_on <= day).exists()
    return sa.or_(sa.func.date(Bed.created_at) <= day, early_stay)


def bed_out_of_service_on(day):
    """SQL condition on ``Bed``: an outage covered ``day``."""
    return (
        sa.select(Outage.id)
        .where(
            Outage.bed_id == Bed.id,
            Outage.start_on <= day,
            sa.or_(Outage.end_on.is_(None), Outage.end_on > day),
        )
        .exists()
    )


def resident_on(bed_id: int, day: date) -> Stay | None:
    """Who was in this bed on that day (None: nobody)."""
    return db.session.scalar(sa.select(Stay).where(Stay.bed_id == bed_id, stay_on(day)))


@dataclass(frozen=True)
class Occupancy:
    beds: int  # beds in service that day
    occupied: int

    @property
    def rate(self) -> float | None:
        return self.occupied / self.beds if self.beds else None


def occupancy_on(day: date, facility_ids: sa.Select | list[int]) -> Occupancy:
    """The facilities' occupancy on ``day``, by the same rules as the county indicators:
    beds that existed and were in service that day, stays that covered it."""
    beds = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Bed)
        .where(
            Bed.facility_id.in_(facility_ids),
            bed_existed_on(day),
            sa.not_(bed_out_of_service_on(day)),
        )
    )
    occupied = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Stay)
        .where(Stay.facility_id.in_(facility_ids), stay_on(day))
    )
    return Occupancy(beds or 0, occupied or 0)


def board(facility: Facility, user) -> history.Floors:
    """The facility's beds grouped by floor and room, with their statuses as of now (a bed
    whose reservation has run out is shown vacant: the scheduled job ends it)."""
    return history.board_floors(facility, user)
