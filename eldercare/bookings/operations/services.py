"""The facility's services, their hours and the days closed for bookings."""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.bookings.models import (
    OFFERED_BY,
    OPEN_STATUSES,
    Blackout,
    Booking,
    Service,
    ServiceKind,
    Slot,
)
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import operates
from eldercare.extensions import db
from eldercare.facilities.models import Facility

# --- who may do what -----------------------------------------------------------------------


def _require_manager(user, facility_id: int) -> None:
    if not operates(user, facility_id):
        raise AppError(403, _l("Only the facility's own staff can answer its bookings."))


# --- services, blackout days ---------------------------------------------------------------


def _check_kind(facility: Facility, kind: str) -> None:
    if facility.kind not in OFFERED_BY[ServiceKind(kind)]:
        raise Invalid(errors={"kind": [_l("This kind of facility does not offer this service.")]})


def save_service(facility: Facility, data: dict, by, service: Service | None = None) -> Service:
    """Create a service, or change one. A new capacity applies to slots not yet started;
    it never drops below the bookings a slot already holds."""
    _require_manager(by, facility.id)
    if service is not None and service.facility_id != facility.id:
        raise AppError(404)  # another facility's service: as if it did not exist
    _check_kind(facility, data["kind"] if service is None else service.kind)
    before = {}
    if service is None:
        service = Service(facility_id=facility.id, kind=data["kind"])
        db.session.add(service)
    else:
        before = {k: getattr(service, k) for k in data if k != "kind"}
        _keep_grid_of_open_bookings(service, data)
    for key, value in data.items():
        if key != "kind":
            setattr(service, key, value)
    db.session.flush()
    if before and before.get("capacity") not in (None, service.capacity):
        # Slots to come take the new capacity, but never less than they already hold.
        db.session.execute(
            sa.update(Slot)
            .where(Slot.service_id == service.id, Slot.starts_at > utcnow())
            .values(
                capacity=sa.case(
                    (Slot.booked > service.capacity, Slot.booked), else_=service.capacity
                )
            )
            .execution_options(synchronize_session="fetch")
        )
    changes = {
        k: [_plain(before.get(k)), _plain(getattr(service, k))]
        for k in data
        if k != "kind" and before.get(k) != getattr(service, k)
    }
    audit.record(
        "booking_service.updated" if before else "booking_service.created",
        service,
        actor=by,
        changes=changes,
        note=service.name,
    )
    return service


#: What cuts a service's days into slots: changed, the slots booked so far no longer match.
GRID_FIELDS = ("opens_at", "closes_at", "slot_minutes")


def _keep_grid_of_open_bookings(service: Service, data: dict) -> None:
    """New hours or a new slot length would open slots beside the ones already booked, each
    with its full capacity (overbooking the hours they overlap): refused while bookings to
    come are open; the operator changes the hours once they are answered or cancelled."""
    if all(data.get(k, getattr(service, k)) == getattr(service, k) for k in GRID_FIELDS):
        return
    open_count = db.session.scalar(
        sa.select(sa.func.count(Booking.id)).where(
            Booking.service_id == service.id,
            Booking.status.in_(OPEN_STATUSES),
            Booking.ends_at > utcnow(),
        )
    )
    if open_count:
        raise Conflict(
            _l(
                "The hours and slot length cannot change while %(count)s bookings to come are"
                " open: the new times would overlap them. Change them once those bookings are"
                " over or cancelled, or add a new service with the new hours.",
                count=open_count,
            )
        )


def _plain(value):
    return value.isoformat(timespec="minutes") if isinstance(value, time) else value


def add_blackout(facility: Facility, day: date, reason: str, by, service=None) -> Blackout:
    """Close a day for bookings. Bookings already made on it stay: the operator cancels each
    with a reason, so each family is told."""
    _require_manager(by, facility.id)
    if service is not None and service.facility_id != facility.id:
        raise AppError(404)
    exists = db.session.scalar(
        sa.select(Blackout.id).where(
            Blackout.facility_id == facility.id,
            Blackout.day == day,
            Blackout.service_id.is_(None) if service is None else Blackout.service_id == service.id,
        )
    )
    if exists:
        raise Conflict(_l("This day is already closed for bookings."))
    blackout = Blackout(
        facility_id=facility.id,
        service_id=service.id if service else None,
        day=day,
        reason=reason,
    )
    db.session.add(blackout)
    db.session.flush()
    audit.record("booking_blackout.added", blackout, actor=by, note=f"{day} {reason}")
    return blackout


def remove_blackout(blackout: Blackout, by) -> None:
    _require_manager(by, blackout.facility_id)
    audit.record("booking_blackout.removed", blackout, actor=by, note=str(blackout.day))
    db.session.delete(blackout)
    db.session.flush()


def services_of(facility_id: int, active_only: bool = True) -> list[Service]:
    stmt = sa.select(Service).where(Service.facility_id == facility_id)
    if active_only:
        stmt = stmt.where(Service.active.is_(True))
    return list(db.session.scalars(stmt.order_by(Service.kind, Service.name, Service.id)))


def blackouts_of(facility_id: int, since: date) -> list[Blackout]:
    return list(
        db.session.scalars(
            sa.select(Blackout)
            .where(Blackout.facility_id == facility_id, Blackout.day >= since)
            .order_by(Blackout.day, Blackout.id)
        )
    )


def bookable_service(service_id: int) -> Service | None:
    """An active service of an active facility: public, and open to booking."""
    return db.session.scalar(
        sa.select(Service)
        .join(Facility, Facility.id == Service.facility_id)
        .where(Service.id == service_id, Service.active.is_(True), Facility.active.is_(True))
        .options(sa.orm.contains_eager(Service.facility))
    )
