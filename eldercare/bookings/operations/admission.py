"""An admission application keeps a bed: the bed named when the operator confirms it is
reserved until a few days after the agreed day, and released when the booking ends early."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.beds import operations as beds
from eldercare.beds.models import Bed, Reservation, Room, free_bed
from eldercare.bookings.models import Booking, ServiceKind
from eldercare.core import audit
from eldercare.core.db import local_date, local_zone, utcnow
from eldercare.core.errors import Invalid
from eldercare.extensions import db
from eldercare.facilities.models import Facility

#: An accepted admission application keeps the bed this many days after the agreed day.
ADMISSION_HOLD_DAYS = 3


def is_admission(booking: Booking) -> bool:
    return booking.service.kind == ServiceKind.ADMISSION.value


def check_bed(booking: Booking, bed: Bed | None) -> None:
    """An admission application is confirmed naming a bed of its own facility."""
    if not is_admission(booking):
        return
    if bed is None:
        raise Invalid(errors={"bed_id": [_l("Choose the bed to reserve.")]})
    if bed.facility_id != booking.facility_id:
        raise Invalid(errors={"bed_id": [_l("The bed is not in this facility.")]})


def reserve_bed(booking: Booking, bed: Bed | None, by) -> None:
    """Keep the bed for the applicant until the end of the hold after the agreed day."""
    if bed is None or not is_admission(booking):
        return
    expires = datetime.combine(
        local_date(booking.starts_at) + timedelta(days=ADMISSION_HOLD_DAYS + 1),
        time(0),
        local_zone(),
    ).astimezone(UTC)
    reservation = beds.reserve(bed, booking.person.name, expires, by, person=booking.person)
    booking.reservation_id = reservation.id


def end_reservation(booking: Booking, by) -> None:
    if booking.reservation_id is None:
        return
    found = db.session.get(Reservation, booking.reservation_id)
    if found is None:
        return
    # The bed first, then the reservation read again: an admission or the expiry job may
    # have ended it meanwhile, and its own ending must stand.
    bed = beds.lock_bed(found.bed_id)
    reservation = db.session.execute(
        sa.select(Reservation)
        .where(Reservation.id == found.id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if reservation.ended_at is not None:
        return
    reservation.ended_at = utcnow()
    reservation.end_reason = "released"
    db.session.flush()
    beds.refresh_status(bed)
    audit.record(
        "bed.reservation_released",
        bed,
        actor=by,
        facility_id=bed.facility_id,
        note=reservation.holder_name,
    )


def free_beds_for_admission(facility: Facility) -> list[Bed]:
    return list(
        db.session.scalars(
            sa.select(Bed)
            .join(Room, Room.id == Bed.room_id)
            .where(Bed.facility_id == facility.id, free_bed(utcnow()))
            .options(selectinload(Bed.room))
            .order_by(Room.floor, Room.building, Room.number, Bed.label)
        )
    )


def bed_of(booking: Booking, bed_id: int | None) -> Bed | None:
    """The bed an operator names to confirm an application (None when none is named); a bed
    of another facility, or none at all, is refused like a wrong choice."""
    if bed_id is None:
        return None
    bed = db.session.get(Bed, bed_id)
    if bed is None or bed.facility_id != booking.facility_id:
        raise Invalid(errors={"bed_id": [_l("The bed is not in this facility.")]})
    return bed
