"""Read-only questions the bed pages ask: a bed's past, who is where now, which beds are free."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.beds.models import Bed, BedStatus, Leave, Outage, Reservation, Room, Stay
from eldercare.core.permissions import visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility


@dataclass(frozen=True)
class BedHistory:
    stays: list[Stay]
    leaves: list[Leave]
    reservations: list[Reservation]
    outages: list[Outage]


def bed_history(bed: Bed, user) -> BedHistory:
    """Everything that happened to the bed, newest first."""
    stays = db.session.scalars(
        visible(Stay, user)
        .where(Stay.bed_id == bed.id)
        .options(selectinload(Stay.person), selectinload(Stay.leaves))
        .order_by(Stay.admitted_on.desc(), Stay.id.desc())
    ).all()
    leaves = sorted(
        (leave for stay in stays for leave in stay.leaves), key=lambda x: x.start_on, reverse=True
    )
    reservations = db.session.scalars(
        visible(Reservation, user)
        .where(Reservation.bed_id == bed.id)
        .order_by(Reservation.created_at.desc(), Reservation.id.desc())
    ).all()
    outages = db.session.scalars(
        sa.select(Outage).where(Outage.bed_id == bed.id).order_by(Outage.start_on.desc())
    ).all()
    return BedHistory(list(stays), leaves, list(reservations), list(outages))


def open_stays(facility: Facility, user) -> dict[int, Stay]:
    """The open stay of each occupied or held bed of the facility, by bed id."""
    stays = db.session.scalars(
        visible(Stay, user)
        .where(Stay.facility_id == facility.id, Stay.discharged_on.is_(None))
        .options(selectinload(Stay.person), selectinload(Stay.leaves))
    ).all()
    return {stay.bed_id: stay for stay in stays}


def open_reservations(facility: Facility, user) -> dict[int, Reservation]:
    rows = db.session.scalars(
        visible(Reservation, user).where(
            Reservation.facility_id == facility.id, Reservation.ended_at.is_(None)
        )
    ).all()
    return {r.bed_id: r for r in rows}


def vacant_beds(facility: Facility, user, exclude: int | None = None) -> list[Bed]:
    """The facility's free beds, for the transfer form."""
    stmt = (
        visible(Bed, user)
        .join(Room, Room.id == Bed.room_id)
        .where(Bed.facility_id == facility.id, Bed.status == BedStatus.VACANT.value)
        .options(selectinload(Bed.room))
        .order_by(Room.floor, Room.building, Room.number, Bed.label)
    )
    if exclude is not None:
        stmt = stmt.where(Bed.id != exclude)
    return list(db.session.scalars(stmt).all())
