"""What can be done with beds: rooms and beds, admit, discharge, transfer, reserve, leave,
out of service; and the occupancy of any day.

Every change locks the bed row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers are
serialised by BEGIN IMMEDIATE), re-reads the state, changes it, recomputes ``Bed.status`` and
writes an audit entry. The database constraints stay the last word: a race that slips past the
checks ends in an IntegrityError, answered 409.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.beds import history
from eldercare.beds.models import (
    RISKS,
    Bed,
    BedStatus,
    DischargeReason,
    Leave,
    Outage,
    Reservation,
    RiskLevel,
    Room,
    Stay,
)
from eldercare.beds.schemas import event_day_refusal, reservation_end_refusal
from eldercare.core import audit
from eldercare.core.db import local_today, local_zone, utcnow  # noqa: F401 (local_today: used by callers)
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import operates
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.operations import county_settings_for


def _require_operator(user, facility_id: int) -> None:
    if not operates(user, facility_id):
        raise AppError(403, _l("Only the facility's own staff can change its beds."))


def _not_future(day: date, field: str) -> None:
    """The schemas' date bounds, held here too for callers that skip a schema (jobs, other
    features)."""
    refusal = event_day_refusal(day)
    if refusal is not None:
        raise Invalid(errors={field: [refusal]})


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


def lock_bed(bed_id: int) -> Bed:
    """The bed row, locked for this transaction and read fresh from the database."""
    stmt = sa.select(Bed).where(Bed.id == bed_id).with_for_update()
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


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


# --- the state of a bed ------------------------------------------------------------------


def open_stay(bed_id: int) -> Stay | None:
    return db.session.scalar(
        sa.select(Stay).where(Stay.bed_id == bed_id, Stay.discharged_on.is_(None))
    )


def open_reservation(bed_id: int) -> Reservation | None:
    return db.session.scalar(
        sa.select(Reservation).where(Reservation.bed_id == bed_id, Reservation.ended_at.is_(None))
    )


def open_outage(bed_id: int) -> Outage | None:
    return db.session.scalar(
        sa.select(Outage).where(Outage.bed_id == bed_id, Outage.end_on.is_(None))
    )


def _expire_if_due(reservation: Reservation | None, now: datetime) -> Reservation | None:
    if reservation is not None and reservation.expires_at <= now:
        reservation.ended_at = reservation.expires_at  # when it ran out, not when noticed
        reservation.end_reason = "expired"
        audit.record(
            "bed.reservation_expired",
            reservation.bed,
            actor=None,
            facility_id=reservation.facility_id,
            note=reservation.holder_name,
        )
        return None
    return reservation


def refresh_status(bed: Bed, now: datetime | None = None) -> str:
    """Derive the bed's status from its rows (an expired reservation is ended on the way)."""
    now = now or utcnow()
    stay = open_stay(bed.id)
    if open_outage(bed.id) is not None:
        status = BedStatus.OUT_OF_SERVICE
    elif stay is not None:
        status = BedStatus.HELD if stay.current_leave is not None else BedStatus.OCCUPIED
    elif _expire_if_due(open_reservation(bed.id), now) is not None:
        status = BedStatus.RESERVED
    else:
        status = BedStatus.VACANT
    bed.status = status.value
    db.session.flush()
    return bed.status


def expire_reservations(now: datetime | None = None, facility_id: int | None = None) -> int:
    """Free every bed whose reservation has run out, everywhere or in one facility.

    Pages and the API call it for the facility they show (so no one reads a stale
    "reserved"); `flask beds expire-reservations` (cron, later the scheduler) does all."""
    now = now or utcnow()
    stmt = sa.select(Reservation.bed_id).where(
        Reservation.ended_at.is_(None), Reservation.expires_at <= now
    )
    if facility_id is not None:
        stmt = stmt.where(Reservation.facility_id == facility_id)
    bed_ids = db.session.scalars(stmt.order_by(Reservation.bed_id)).all()
    for bed_id in bed_ids:
        refresh_status(lock_bed(bed_id), now)
    return len(bed_ids)


# --- stays ------------------------------------------------------------------------------


def clean_risk_assessment(risks: dict[str, str]) -> str:
    """The nine GB 38600 risks, each low/medium/high, all required; stored as JSON text."""
    missing = [key for key in RISKS if key not in risks]
    unknown = [key for key in risks if key not in RISKS]
    bad = [key for key, level in risks.items() if level not in {r.value for r in RiskLevel}]
    if missing or unknown or bad:
        raise Invalid(
            errors={"risks": [_l("Assess each of the nine risks as low, medium or high.")]}
        )
    return json.dumps({key: risks[key] for key in RISKS}, ensure_ascii=False)


def _check_history_free(bed_id: int, person_id: int | None, on: date) -> None:
    """A back-dated stay must not overlap an earlier stay of the bed (or of the person), nor a
    period when the bed was out of service."""
    who = (
        Stay.bed_id == bed_id
        if person_id is None
        else sa.or_(Stay.bed_id == bed_id, Stay.person_id == person_id)
    )
    overlap = db.session.scalar(
        sa.select(Stay.id)
        .where(who, sa.or_(Stay.discharged_on.is_(None), Stay.discharged_on > on))
        .limit(1)
    )
    if overlap is not None:
        raise Conflict(_l("This bed or this person already has a stay on that date."))
    outage = db.session.scalar(
        sa.select(Outage.id)
        .where(Outage.bed_id == bed_id, sa.or_(Outage.end_on.is_(None), Outage.end_on > on))
        .limit(1)
    )
    if outage is not None:
        raise Conflict(_l("The bed was out of service on that date."))


def person_by_card(id_number: str, name: str) -> Person:
    """The registered person with this ID number, if the name matches, both as on the ID card
    (an operator cannot browse the registry; this is how a newcomer is named)."""
    from eldercare.people.operations import find_by_id_number

    person = find_by_id_number(id_number)
    if person is None or person.name != name.strip():
        raise Invalid(
            errors={"id_number": [_l("No registered person has this ID number and name.")]}
        )
    return person


def _end_reservations_of(person_id: int, reason: str) -> None:
    """A person admitted somewhere needs no bed kept elsewhere: end all their reservations
    (the other beds' statuses follow)."""
    now = utcnow()
    for reservation in db.session.scalars(
        sa.select(Reservation).where(
            Reservation.person_id == person_id, Reservation.ended_at.is_(None)
        )
    ):
        reservation.ended_at = now
        reservation.end_reason = reason
        db.session.flush()
        refresh_status(lock_bed(reservation.bed_id), now)


def _leave_allows(stay: Stay, on: date, field: str) -> None:
    """A stay cannot end before the leave it is in began."""
    leave = stay.current_leave
    if leave is not None and on < leave.start_on:
        raise Invalid(
            errors={
                field: [
                    _l(
                        "The resident's leave began on %(day)s; choose that day or later.",
                        day=leave.start_on.isoformat(),
                    )
                ]
            }
        )


def reserved_refusal(bed: Bed, reservation: Reservation) -> str:
    """Why someone else cannot be admitted to a reserved bed, naming whom it is kept for and
    what to do (the facility's own operators see the holder's name on their board too)."""
    until = reservation.expires_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    if reservation.person_id is None:
        return _l(
            "%(bed)s is reserved for %(holder)s until %(time)s (a name only, no registered"
            " person): release the reservation first, then admit.",
            bed=bed.title,
            holder=reservation.holder_name,
            time=until,
        )
    return _l(
        "%(bed)s is reserved for %(holder)s until %(time)s: admit that person (their ID"
        " number and name as on the card), or release the reservation first.",
        bed=bed.title,
        holder=reservation.holder_name,
        time=until,
    )


def admit(bed: Bed, person: Person, on: date, risks: dict[str, str], by, note: str = "") -> Stay:
    """Admit a registered person to a vacant bed (or the bed reserved for them)."""
    _require_operator(by, bed.facility_id)
    _not_future(on, "admitted_on")
    bed = lock_bed(bed.id)
    status = refresh_status(bed)
    if person.death_date is not None:
        raise Invalid(errors={"person": [_l("This person is recorded as deceased.")]})
    if on < person.birth_date:
        raise Invalid(errors={"admitted_on": [_l("The date is before the person's birth.")]})
    reservation = open_reservation(bed.id)
    reserved_for_them = (
        status == BedStatus.RESERVED
        and reservation is not None
        and reservation.person_id == person.id
    )
    if status == BedStatus.RESERVED and not reserved_for_them:
        raise Conflict(reserved_refusal(bed, reservation))
    if status != BedStatus.VACANT and not reserved_for_them:
        raise Conflict(
            _l("%(bed)s is not free (%(status)s).", bed=bed.title, status=bed.status_label)
        )
    current = db.session.scalar(
        sa.select(Stay).where(Stay.person_id == person.id, Stay.discharged_on.is_(None))
    )
    if current is not None:
        if current.facility_id != bed.facility_id:  # another home's beds are not shown here
            raise Conflict(
                _l("This person is staying in another facility: it must discharge them first.")
            )
        raise Conflict(
            _l(
                "This person already has a bed (%(code)s); discharge or transfer them.",
                code=current.bed.title,
            )
        )
    _check_history_free(bed.id, person.id, on)
    stay = Stay(
        bed_id=bed.id,
        facility_id=bed.facility_id,
        person_id=person.id,
        admitted_on=on,
        risk_assessment=clean_risk_assessment(risks),
        note=note,
    )
    db.session.add(stay)
    _end_reservations_of(person.id, "admitted")
    db.session.flush()
    refresh_status(bed)
    audit.record(
        "stay.admitted",
        stay,
        actor=by,
        facility_id=bed.facility_id,
        region_id=person.region_id,
        changes={"bed": [None, bed.title], "admitted_on": [None, on]},
    )
    return stay


def discharge(stay: Stay, on: date, reason: str, by, note: str = "") -> Stay:
    """End a stay; the bed is free again. A death is also written to the registry."""
    _require_operator(by, stay.facility_id)
    _not_future(on, "discharged_on")
    bed = lock_bed(stay.bed_id)
    db.session.refresh(stay)
    if stay.discharged_on is not None:
        raise Conflict(_l("This stay has already ended."))
    if on < stay.admitted_on:
        raise Invalid(errors={"discharged_on": [_l("The date is before the admission.")]})
    _leave_allows(stay, on, "discharged_on")
    leave = stay.current_leave
    if leave is not None:
        leave.end_on = on
    stay.discharged_on = on
    stay.discharge_reason = reason
    stay.discharge_note = note[:255]  # beside the admission note, which it must not replace
    if reason == DischargeReason.DEATH and stay.person.death_date is None:
        stay.person.death_date = on
        audit.record(
            "person.updated",
            stay.person,
            actor=by,
            changes={"death_date": [None, on]},
            note="discharge",
        )
    db.session.flush()
    refresh_status(bed)
    audit.record(
        "stay.discharged",
        stay,
        actor=by,
        facility_id=stay.facility_id,
        region_id=stay.person.region_id,
        changes={
            "bed": [bed.title, None],
            "discharged_on": [None, on],
            "discharge_reason": [None, reason],
        },
    )
    return stay


def transfer(stay: Stay, to_bed: Bed, on: date, by) -> Stay:
    """Move a resident to another bed of the same facility; the history keeps both stays."""
    _require_operator(by, stay.facility_id)
    if to_bed.facility_id != stay.facility_id:
        raise Invalid(errors={"bed_id": [_l("Choose a bed of the same facility.")]})
    if to_bed.id == stay.bed_id:
        raise Invalid(errors={"bed_id": [_l("The resident is already in this bed.")]})
    _not_future(on, "on")
    # Lock both beds in id order, so two opposite transfers cannot deadlock.
    first, second = sorted([stay.bed_id, to_bed.id])
    locked = {first: lock_bed(first), second: lock_bed(second)}
    target = locked[to_bed.id]
    db.session.refresh(stay)
    if stay.discharged_on is not None:
        raise Conflict(_l("This stay has already ended."))
    if on < stay.admitted_on:
        raise Invalid(errors={"on": [_l("The date is before the admission.")]})
    if stay.current_leave is not None:
        raise Conflict(_l("The resident is on leave: end the leave before moving them."))
    status = refresh_status(target)
    reservation = open_reservation(target.id)
    if status != BedStatus.VACANT and not (
        status == BedStatus.RESERVED
        and reservation is not None
        and reservation.person_id == stay.person_id
    ):
        raise Conflict(
            _l(
                "%(bed)s is not free (%(status)s).",
                bed=target.title,
                status=target.status_label,
            )
        )
    _check_history_free(target.id, None, on)  # a back-dated move must fit the bed's history
    stay.discharged_on = on
    stay.discharge_reason = DischargeReason.TRANSFER.value
    db.session.flush()
    new_stay = Stay(
        bed_id=target.id,
        facility_id=stay.facility_id,
        person_id=stay.person_id,
        admitted_on=on,
        previous_stay_id=stay.id,
        risk_assessment=stay.risk_assessment,
        note=stay.note,
    )
    db.session.add(new_stay)
    _end_reservations_of(stay.person_id, "admitted")
    db.session.flush()
    refresh_status(locked[stay.bed_id])
    refresh_status(target)
    audit.record(
        "stay.transferred",
        new_stay,
        actor=by,
        facility_id=stay.facility_id,
        region_id=stay.person.region_id,
        changes={"bed": [locked[stay.bed_id].title, target.title], "on": [None, on]},
    )
    return new_stay


def start_leave(stay: Stay, on: date, reason: str, by) -> Leave:
    _require_operator(by, stay.facility_id)
    _not_future(on, "start_on")
    bed = lock_bed(stay.bed_id)
    db.session.refresh(stay)
    if stay.discharged_on is not None:
        raise Conflict(_l("This stay has already ended."))
    if stay.current_leave is not None:
        raise Conflict(_l("The resident is already on leave."))
    if on < stay.admitted_on:
        raise Invalid(errors={"start_on": [_l("The date is before the admission.")]})
    if any(past.end_on is not None and past.end_on > on for past in stay.leaves):
        raise Invalid(errors={"start_on": [_l("An earlier leave lasted past this date.")]})
    leave = Leave(stay=stay, start_on=on, reason=reason[:255])
    db.session.add(leave)
    db.session.flush()
    refresh_status(bed)
    audit.record(
        "stay.leave_started",
        stay,
        actor=by,
        facility_id=stay.facility_id,
        changes={"start_on": [None, on]},
        note=reason[:255],
    )
    return leave


def end_leave(stay: Stay, on: date, by) -> Leave:
    _require_operator(by, stay.facility_id)
    _not_future(on, "end_on")
    bed = lock_bed(stay.bed_id)
    db.session.refresh(stay)
    leave = stay.current_leave
    if leave is None:
        raise Conflict(_l("The resident is not on leave."))
    if on < leave.start_on:
        raise Invalid(errors={"end_on": [_l("The date is before the leave began.")]})
    leave.end_on = on
    db.session.flush()
    refresh_status(bed)
    audit.record(
        "stay.leave_ended",
        stay,
        actor=by,
        facility_id=stay.facility_id,
        changes={"end_on": [None, on]},
    )
    return leave


# --- reservations and outages --------------------------------------------------------------


def reserve(
    bed: Bed, holder_name: str, expires_at: datetime, by, person: Person | None = None
) -> Reservation:
    _require_operator(by, bed.facility_id)
    now = utcnow()
    refusal = reservation_end_refusal(expires_at, now)
    if refusal is not None:
        raise Invalid(errors={"expires_at": [refusal]})
    bed = lock_bed(bed.id)
    if refresh_status(bed, now) != BedStatus.VACANT:
        raise Conflict(
            _l("%(bed)s is not free (%(status)s).", bed=bed.title, status=bed.status_label)
        )
    reservation = Reservation(
        bed_id=bed.id,
        facility_id=bed.facility_id,
        holder_name=holder_name,
        person_id=person.id if person else None,
        expires_at=expires_at,
    )
    db.session.add(reservation)
    db.session.flush()
    refresh_status(bed, now)
    audit.record(
        "bed.reserved",
        bed,
        actor=by,
        facility_id=bed.facility_id,
        changes={"expires_at": [None, expires_at]},
        note=holder_name,
    )
    return reservation


def release_reservation(bed: Bed, by) -> None:
    _require_operator(by, bed.facility_id)
    bed = lock_bed(bed.id)
    reservation = open_reservation(bed.id)
    if reservation is None:
        raise Conflict(_l("This bed has no reservation."))
    reservation.ended_at = utcnow()
    reservation.end_reason = "released"
    db.session.flush()
    refresh_status(bed)
    audit.record(
        "bed.reservation_released",
        bed,
        actor=by,
        facility_id=bed.facility_id,
        note=reservation.holder_name,
    )


def take_out_of_service(bed: Bed, reason: str, on: date, by) -> Outage:
    _require_operator(by, bed.facility_id)
    _not_future(on, "start_on")
    bed = lock_bed(bed.id)
    if refresh_status(bed) != BedStatus.VACANT:
        raise Conflict(
            _l(
                "Only a free bed can be taken out of service (it is %(status)s).",
                status=bed.status_label,
            )
        )
    _check_history_free(bed.id, None, on)  # not back into a time someone lived there
    outage = Outage(bed_id=bed.id, reason=reason[:255], start_on=on)
    db.session.add(outage)
    db.session.flush()
    refresh_status(bed)
    audit.record(
        "bed.out_of_service",
        bed,
        actor=by,
        facility_id=bed.facility_id,
        changes={"start_on": [None, on]},
        note=reason[:255],
    )
    return outage


def return_to_service(bed: Bed, on: date, by) -> Outage:
    _require_operator(by, bed.facility_id)
    _not_future(on, "on")
    bed = lock_bed(bed.id)
    outage = open_outage(bed.id)
    if outage is None:
        raise Conflict(_l("This bed is in service."))
    if on < outage.start_on:
        raise Invalid(errors={"on": [_l("The date is before the bed was taken out.")]})
    outage.end_on = on
    db.session.flush()
    refresh_status(bed)
    audit.record(
        "bed.back_in_service",
        bed,
        actor=by,
        facility_id=bed.facility_id,
        changes={"end_on": [None, on]},
    )
    return outage


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
    """The facility's beds grouped by floor and room, statuses fresh (expired holds ended)."""
    expire_reservations(facility_id=facility.id)
    return history.board_floors(facility, user)
