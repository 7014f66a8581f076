"""A bed kept for someone until a time, and a bed out of service for a while."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from eldercare.beds.models import (
    Bed,
    BedStatus,
    Outage,
    Reservation,
)
from eldercare.beds.operations.state import (
    _check_history_free,
    _not_future,
    _require_operator,
    lock_bed,
    open_outage,
    open_reservation,
    refresh_status,
)
from eldercare.beds.schemas import reservation_end_refusal
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.facilities.operations import require_operating
from eldercare.people.models import Person

# --- reservations and outages --------------------------------------------------------------


def reserve(
    bed: Bed, holder_name: str, expires_at: datetime, by, person: Person | None = None
) -> Reservation:
    _require_operator(by, bed.facility_id)
    now = utcnow()
    refusal = reservation_end_refusal(expires_at, now)
    if refusal is not None:
        raise Invalid(errors={"expires_at": [refusal]})
    if person is not None and person.death_date is not None:
        raise Invalid(errors={"id_number": [_l("This person is recorded as deceased.")]})
    require_operating(bed.facility_id)
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
