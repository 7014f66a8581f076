"""Rooms and beds (一床一码) and the price range a bed's monthly price must lie in."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.beds.models import (
    Bed,
    BedStatus,
    Room,
)
from eldercare.beds.operations.state import (
    _require_operator,
    lock_bed,
)
from eldercare.core import audit
from eldercare.core.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.operations import county_settings_for


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}" if fen % 100 == 0 else f"{fen // 100:,}.{fen % 100:02d}"


def price_refusal(settings, fen: int) -> str | None:
    """Why this monthly price is not plausible in the county (None: it is)."""
    if settings.bed_price_min_fen <= fen <= settings.bed_price_max_fen:
        return None
    return _l(
        "A bed's monthly price in this county is between ¥%(min)s and ¥%(max)s "
        "(the county's setting): check the amount.",
        min=_yuan(settings.bed_price_min_fen),
        max=_yuan(settings.bed_price_max_fen),
    )


def check_price(facility: Facility, fen: int, field: str = "monthly_price") -> None:
    """A price must lie in the range its county set (CountySettings)."""
    refusal = price_refusal(county_settings_for(facility.region), fen)
    if refusal is not None:
        raise Invalid(errors={field: [refusal]})


# --- rooms and beds ----------------------------------------------------------------------


def new_bed_code(facility_id: int) -> str:
    """一床一码: a code that is given once and never changes, e.g. 00012-9F3A2C01B7 (40 random
    bits: a collision within one facility is vanishingly rare, and the unique index holds)."""
    return f"{facility_id:05d}-{secrets.token_hex(5).upper()}"


def create_room(facility: Facility, data: dict, by) -> Room:
    _require_operator(by, facility.id)
    exists = db.session.scalar(
        sa.select(Room.id).where(
            Room.facility_id == facility.id,
            Room.building == data.get("building", ""),
            Room.number == data["number"],
        )
    )
    if exists is not None:
        raise Conflict(errors={"number": [_l("This room already exists.")]})
    room = Room(
        facility_id=facility.id,
        building=data.get("building", ""),
        floor=data["floor"],
        number=data["number"],
    )
    db.session.add(room)
    db.session.flush()
    audit.record(
        "room.created",
        room,
        actor=by,
        facility_id=facility.id,
        changes={"room": [None, room.title], "floor": [None, room.floor]},
    )
    return room


def create_bed(room: Room, data: dict, by) -> Bed:
    _require_operator(by, room.facility_id)
    if (
        db.session.scalar(
            sa.select(Bed.id).where(Bed.room_id == room.id, Bed.label == data["label"])
        )
        is not None
    ):
        raise Conflict(errors={"label": [_l("This room already has a bed with this number.")]})
    check_price(room.facility, data["monthly_price_fen"])
    bed = Bed(
        code=new_bed_code(room.facility_id),
        facility_id=room.facility_id,
        room_id=room.id,
        label=data["label"],
        care_type=data["care_type"],
        monthly_price_fen=data["monthly_price_fen"],
        status=BedStatus.VACANT.value,
    )
    db.session.add(bed)
    db.session.flush()
    audit.record(
        "bed.created",
        bed,
        actor=by,
        facility_id=bed.facility_id,
        changes={
            "code": [None, bed.code],
            "care_type": [None, bed.care_type],
            "monthly_price_fen": [None, bed.monthly_price_fen],
        },
    )
    return bed


def update_bed(bed: Bed, data: dict, by) -> Bed:
    """Change a bed's care type or price (its code and place never change)."""
    _require_operator(by, bed.facility_id)
    bed = lock_bed(bed.id)
    before = {"care_type": bed.care_type, "monthly_price_fen": bed.monthly_price_fen}
    if data.get("monthly_price_fen", bed.monthly_price_fen) != bed.monthly_price_fen:
        check_price(bed.facility, data["monthly_price_fen"])
    for key in before:
        if key in data:
            setattr(bed, key, data[key])
    changes = audit.changes_between(before, {k: getattr(bed, k) for k in before})
    if changes:
        audit.record("bed.updated", bed, actor=by, facility_id=bed.facility_id, changes=changes)
    return bed
