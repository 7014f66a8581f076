"""A resident's stay: admit, discharge, transfer to another bed, leave and return. Every
change locks the bed, re-reads its state, refuses or acts, recomputes ``Bed.status`` and
writes an audit entry; the database constraints stay the last word (an IntegrityError is
answered 409)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.beds.models import (
    RISKS,
    Bed,
    BedStatus,
    DischargeReason,
    Leave,
    Reservation,
    RiskLevel,
    Stay,
)
from eldercare.beds.operations.departures import stay_effect
from eldercare.beds.operations.state import (
    _check_history_free,
    _not_future,
    _require_operator,
    lock_bed,
    open_reservation,
    refresh_status,
)
from eldercare.core import audit
from eldercare.core.db import local_zone, utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.facilities.operations import require_operating
from eldercare.people import life_events
from eldercare.people.models import LifeEventSource, Person
from eldercare.people.signals import Effect

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
    require_operating(bed.facility_id)
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


@dataclass
class Discharged:
    """A discharge, and what each feature did about it (a death: the registry's life event,
    the day-care membership, the visit plan...), for the operator's page."""

    stay: Stay
    effects: list[Effect] = field(default_factory=list)


def discharge(stay: Stay, on: date, reason: str, by, note: str = "") -> Stay:
    """End a stay; the bed is free again. A death goes on to the registry's one writer."""
    return discharged(stay, on, reason, by, note).stay


def discharged(stay: Stay, on: date, reason: str, by, note: str = "") -> Discharged:
    """``discharge``, with the effects of the death it recorded (none for another reason)."""
    _require_operator(by, stay.facility_id)
    _not_future(on, "discharged_on")
    bed = lock_bed(stay.bed_id)
    db.session.refresh(stay)
    if stay.discharged_on is not None:
        raise Conflict(_l("This stay has already ended."))
    if on < stay.admitted_on:
        raise Invalid(errors={"discharged_on": [_l("The date is before the admission.")]})
    _leave_allows(stay, on, "discharged_on")
    known = stay.person.death_date
    if reason == DischargeReason.DEATH and known is not None and known != on:
        raise Conflict(
            errors={
                "discharged_on": [
                    _l(
                        "The registry records this person's death on %(day)s: discharge on "
                        "that date. A correction is made by the county civil-affairs bureau.",
                        day=known.isoformat(),
                    )
                ]
            }
        )
    leave = stay.current_leave
    if leave is not None:
        leave.end_on = on
    stay.discharged_on = on
    stay.discharge_reason = reason
    stay.discharge_note = note[:255]  # beside the admission note, which it must not replace
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
    effects: list[Effect] = []
    if reason == DischargeReason.DEATH:
        # The registry's one writer of a death: every feature follows in this transaction
        # (beds' own receiver finds this stay closed already).
        recorded = life_events.record_death(
            stay.person,
            on,
            by,
            source=LifeEventSource.DISCHARGE.value,
            facility_id=stay.facility_id,
            source_ref=f"stay:{stay.id}",
        )
        effects = recorded.effects if recorded.event is not None else [stay_effect(stay)]
    return Discharged(stay, effects)


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
