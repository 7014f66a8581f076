"""Read-only questions the bed pages ask: a bed's past, who is where now, which beds are free."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.beds.models import (
    Bed,
    Leave,
    Outage,
    Reservation,
    Room,
    Stay,
    free_bed,
    status_now,
)
from eldercare.core.db import utcnow
from eldercare.core.permissions import scope_clause, visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person


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
        .options(
            selectinload(Stay.person),
            selectinload(Stay.leaves),
            selectinload(Stay.previous).selectinload(Stay.bed).selectinload(Bed.room),
        )
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


@dataclass(frozen=True, slots=True)
class BoardRoom:
    """A room as the board shows it: only the columns the board needs."""

    id: int
    building: str
    floor: int
    number: str

    title = property(Room.title.fget)


@dataclass(frozen=True, slots=True)
class BoardBed:
    """A bed tile of the board: only the columns the board needs."""

    id: int
    code: str
    label: str
    care_type: str
    monthly_price_fen: int
    status: str

    monthly_price_yuan = property(Bed.monthly_price_yuan.fget)


@dataclass(frozen=True, slots=True)
class BoardReservation:
    holder_name: str
    expires_at: datetime


Floors = list[tuple[int, list[tuple[BoardRoom, list[BoardBed]]]]]


@functools.cache
def _board_statements() -> dict[str, sa.Select]:
    """The board's queries, built once with the facility as a bound parameter: the board is
    drawn often and for hundreds of beds, so it reads plain columns (never whole rows: the
    residents' encrypted ID numbers and risk assessments are not shown, so not read) and
    does not build its statements anew for each request. Each caller adds the user's scope."""
    facility_id, now = sa.bindparam("facility_id"), sa.bindparam("now")
    return {
        # Every room of the facility with its beds (a room without beds too).
        "beds": sa.select(
            Room.id,
            Room.building,
            Room.floor,
            Room.number,
            Bed.id,
            Bed.code,
            Bed.label,
            Bed.care_type,
            Bed.monthly_price_fen,
            status_now(now),
        )
        .outerjoin(Bed, Bed.room_id == Room.id)
        .where(Room.facility_id == facility_id)
        .order_by(Room.floor, Room.building, Room.number, Bed.label),
        # The name of the resident of each occupied or held bed.
        "residents": sa.select(Stay.bed_id, Person.name)
        .join(Person, Person.id == Stay.person_id)
        .where(Stay.facility_id == facility_id, Stay.discharged_on.is_(None)),
        "reservations": sa.select(
            Reservation.bed_id, Reservation.holder_name, Reservation.expires_at
        ).where(
            Reservation.facility_id == facility_id,
            Reservation.ended_at.is_(None),
            Reservation.expires_at > now,
        ),
    }


def board_floors(facility: Facility, user) -> Floors:
    """The facility's rooms the user may see, with their beds, grouped by floor (in one
    query)."""
    stmt = _board_statements()["beds"].where(scope_clause(Room, user))
    floors: dict[int, list[tuple[BoardRoom, list[BoardBed]]]] = {}
    room_id = None
    beds: list[BoardBed] = []
    for row in db.session.execute(stmt, {"facility_id": facility.id, "now": utcnow()}):
        if row[0] != room_id:
            room_id, beds = row[0], []
            floors.setdefault(row[2], []).append((BoardRoom(*row[:4]), beds))
        if row[4] is not None:
            beds.append(BoardBed(*row[4:]))
    return sorted(floors.items())


def open_residents(facility: Facility, user) -> dict[int, str]:
    """The name of the resident of each occupied or held bed of the facility, by bed id."""
    stmt = _board_statements()["residents"].where(scope_clause(Stay, user))
    return dict(db.session.execute(stmt, {"facility_id": facility.id}).tuples().all())


def open_reservations(facility: Facility, user) -> dict[int, BoardReservation]:
    """Who each reserved bed of the facility is kept for, and until when, by bed id."""
    stmt = _board_statements()["reservations"].where(scope_clause(Reservation, user))
    return {
        bed_id: BoardReservation(holder_name, expires_at)
        for bed_id, holder_name, expires_at in db.session.execute(
            stmt, {"facility_id": facility.id, "now": utcnow()}
        )
    }


def vacant_beds(facility: Facility, user, exclude: int | None = None) -> list[Bed]:
    """The facility's free beds, for the transfer form (a run-out reservation frees one)."""
    stmt = (
        visible(Bed, user)
        .join(Room, Room.id == Bed.room_id)
        .where(Bed.facility_id == facility.id, free_bed(utcnow()))
        .options(selectinload(Bed.room))
        .order_by(Room.floor, Room.building, Room.number, Bed.label)
    )
    if exclude is not None:
        stmt = stmt.where(Bed.id != exclude)
    return list(db.session.scalars(stmt).all())
