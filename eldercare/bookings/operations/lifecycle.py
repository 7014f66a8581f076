"""A booking from request to its end: a family books, the operator confirms, either side
cancels, the operator records that it took place. A relative's own bookings are serialised
by locking the person's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.auth.models import User
from eldercare.beds.models import Bed
from eldercare.bookings import notices
from eldercare.bookings.models import (
    LINK_REVOKED_REASON,
    OPEN_STATUSES,
    Booking,
    BookingStatus,
    Service,
    ServiceKind,
)
from eldercare.bookings.operations.admission import check_bed, end_reservation, reserve_bed
from eldercare.bookings.operations.services import _require_manager
from eldercare.bookings.operations.slots import (
    FULL,
    _check_bookable,
    _give_back_place,
    _slot_for,
    _take_place,
)
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import Role, operates, role_of, visible
from eldercare.extensions import db
from eldercare.facilities.operations import require_operating
from eldercare.notifications.operations import notify_many
from eldercare.people.models import Person

# --- booking -------------------------------------------------------------------------------


def bookable_relatives(user) -> list[Person]:
    """The verified relatives a family member may book for (the living, still in the
    county)."""
    return list(
        db.session.scalars(
            visible(Person, user)
            .where(Person.death_date.is_(None), Person.moved_out_on.is_(None))
            .order_by(Person.id)
        )
    )


def _lock_person(person_id: int) -> Person:
    stmt = sa.select(Person).where(Person.id == person_id).with_for_update()
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def book(
    user, service: Service, person: Person, starts_at: datetime, data: dict, now=None
) -> Booking:
    """A family member books a slot for a verified relative (the caller checked the link).
    Confirmed at once if the service confirms automatically and a place is left; otherwise a
    request waits for the operator. Refused, with nothing written, when the slot is full or
    the relative already has a booking at an overlapping time."""
    now = now or utcnow()
    if role_of(user) != Role.FAMILY:
        raise AppError(403, _l("Only family members book services for their relatives."))
    ends_at = _check_bookable(service, starts_at, now)
    starts_at = starts_at.astimezone(UTC)
    if service.at_home and not data.get("place"):
        raise Invalid(errors={"place": [_l("Say where the service is to be done.")]})
    require_operating(service.facility_id, _l("This service is not taking bookings."))
    person = _lock_person(person.id)
    if person.is_deceased:
        raise Invalid(errors={"person_id": [_l("This person is recorded as deceased.")]})
    if person.has_left:
        raise Invalid(errors={"person_id": [_l("This person has moved out of the county.")]})
    overlapping = db.session.scalar(
        sa.select(Booking)
        .where(
            Booking.person_id == person.id,
            Booking.status.in_(OPEN_STATUSES),
            Booking.starts_at < ends_at,
            Booking.ends_at > starts_at,
        )
        .limit(1)
    )
    if overlapping is not None:
        raise Conflict(
            _l(
                "%(name)s already has a booking at this time (%(service)s).",
                name=person.name,
                service=overlapping.service.name,
            )
        )
    slot = _slot_for(service, starts_at, ends_at)
    booking = Booking(
        service_id=service.id,
        facility_id=service.facility_id,
        slot_id=slot.id,
        person_id=person.id,
        user_id=user.id,
        starts_at=starts_at,
        ends_at=ends_at,
        # Only a visit brings a party; any other service is for the relative alone.
        party_size=(data.get("party_size") or 1) if service.kind == ServiceKind.VISIT else 1,
        note=data.get("note") or "",
        place=(data.get("place") or "") if service.at_home else "",
        contact_phone=data.get("contact_phone") or (user.phone or ""),
    )
    if service.confirms_at_once:
        if not _take_place(slot):
            raise Conflict(FULL)
        booking.status = BookingStatus.CONFIRMED.value
        booking.confirmed_at = now
    elif slot.booked >= slot.capacity:
        raise Conflict(FULL)
    db.session.add(booking)
    db.session.flush()
    audit.record(
        "booking.created",
        booking,
        actor=user,
        changes={"status": [None, booking.status]},
        note=service.name,
    )
    if booking.status == BookingStatus.CONFIRMED.value:
        notify_many(notices.confirmed(booking))
    else:
        notify_many(notices.requested(booking, _operators(service.facility_id)))
    return booking


def _operators(facility_id: int) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.facility_id == facility_id,
                User.role == Role.OPERATOR.value,
                User.active.is_(True),
            )
        )
    )


def _lock(booking: Booking) -> Booking:
    stmt = sa.select(Booking).where(Booking.id == booking.id).with_for_update()
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def confirm(booking: Booking, by, bed: Bed | None = None, now=None) -> Booking:
    """The operator confirms a request, if its slot still has a place (re-checked here, not
    trusted from when it was requested). An admission application names the bed to reserve."""
    now = now or utcnow()
    _require_manager(by, booking.facility_id)
    booking = _lock(booking)
    if not _confirmable(booking, now):
        if booking.status != BookingStatus.REQUESTED.value:
            raise Conflict(_l("Only a booking waiting for confirmation can be confirmed."))
        raise Conflict(_l("This booking's time has passed; it can no longer be confirmed."))
    check_bed(booking, bed)
    if not _take_place(booking.slot):
        raise Conflict(FULL)
    reserve_bed(booking, bed, by)
    booking.status = BookingStatus.CONFIRMED.value
    booking.confirmed_at = now
    booking.confirmed_by_id = by.id
    db.session.flush()
    audit.record(
        "booking.confirmed",
        booking,
        actor=by,
        changes={"status": [BookingStatus.REQUESTED.value, booking.status]},
    )
    notify_many(notices.confirmed(booking))
    return booking


def cancel_deadline(booking: Booking) -> datetime:
    """Until when the family may cancel on its own."""
    return booking.starts_at - timedelta(hours=booking.service.cancel_hours)


def _family_in_time(booking: Booking, now: datetime) -> bool:
    """A request holds no place: the family may withdraw it until it starts; a confirmed
    booking only until the service's cut-off."""
    if booking.status == BookingStatus.REQUESTED.value:
        return now < booking.starts_at
    return now <= cancel_deadline(booking)


def can_cancel(booking: Booking, user, now: datetime | None = None) -> bool:
    if not booking.is_open:
        return False
    if operates(user, booking.facility_id):
        return True
    return role_of(user) == Role.FAMILY and _family_in_time(booking, now or utcnow())


def cancel(booking: Booking, by, reason: str = "", now=None) -> Booking:
    """The family cancels before the cut-off; the operator cancels or declines, with a reason.
    A confirmed booking gives its place back, and an admission's bed reservation ends."""
    now = now or utcnow()
    booking = _lock(booking)
    by_operator = operates(by, booking.facility_id)
    if not booking.is_open:
        raise Conflict(_l("This booking is no longer open."))
    if by_operator:
        if not reason:
            raise Invalid(errors={"reason": [_l("Say why, so the family understands.")]})
    elif role_of(by) != Role.FAMILY:
        raise AppError(403, _l("Only the family or the facility can cancel a booking."))
    elif not _family_in_time(booking, now):
        raise Conflict(
            _l(
                "Bookings can be cancelled here until %(hours)s hours before they start. "
                "Please phone the facility.",
                hours=booking.service.cancel_hours,
            )
        )
    before = _cancelled(booking, by, reason, now)
    if by_operator:
        notify_many(notices.cancelled_by_facility(booking, declined=before != "confirmed"))
    else:
        notify_many(notices.cancelled_by_family(booking, _operators(booking.facility_id)))
        if by.id != booking.user_id:  # a brother cancels what his sister booked: tell her
            notify_many(notices.cancelled_by_relative(booking, by))
    return booking


def cancel_for_revoked_link(user_id: int, person_id: int, by) -> int:
    """When a family link is revoked, the open bookings that family member made for the
    person end with it (the facility is told; the former relative hears nothing more)."""
    now = utcnow()
    bookings = list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.user_id == user_id,
                Booking.person_id == person_id,
                Booking.status.in_(OPEN_STATUSES),
            )
            .order_by(Booking.id)
            .with_for_update()
        )
    )
    for booking in bookings:
        _cancelled(booking, by, LINK_REVOKED_REASON, now)
        notify_many(notices.cancelled_by_family(booking, _operators(booking.facility_id)))
    return len(bookings)


def _cancelled(booking: Booking, by, reason: str, now: datetime, note: str | None = None) -> str:
    """Cancel an open booking (locked by the caller): a confirmed one gives its place back and
    an admission's bed reservation ends; audited (with ``note``, else the reason). The status
    it had."""
    before = booking.status
    if before == BookingStatus.CONFIRMED.value:
        _give_back_place(booking.slot_id)
        end_reservation(booking, by)
    booking.status = BookingStatus.CANCELLED.value
    booking.ended_at = now
    booking.ended_by_id = getattr(by, "id", None)
    booking.reason = reason
    db.session.flush()
    audit.record(
        "booking.cancelled",
        booking,
        actor=by,
        changes={"status": [before, booking.status]},
        note=reason if note is None else note,
    )
    return before


def finish(booking: Booking, outcome: str, by, now=None) -> Booking:
    """The operator records that a confirmed booking took place, or that nobody came."""
    now = now or utcnow()
    _require_manager(by, booking.facility_id)
    booking = _lock(booking)
    if outcome not in (BookingStatus.COMPLETED.value, BookingStatus.NO_SHOW.value):
        raise Invalid(errors={"outcome": [_l("Not a valid choice.")]})
    if not _finishable(booking, now):
        if booking.status != BookingStatus.CONFIRMED.value:
            raise Conflict(_l("Only a confirmed booking can be completed or marked as missed."))
        raise Conflict(_l("This booking has not started yet."))
    if outcome == BookingStatus.NO_SHOW.value:
        end_reservation(booking, by)  # nobody came: the bed is free for others at once
    booking.status = outcome
    booking.ended_at = now
    booking.ended_by_id = by.id
    db.session.flush()
    audit.record(
        "booking.finished",
        booking,
        actor=by,
        changes={"status": [BookingStatus.CONFIRMED.value, outcome]},
    )
    return booking


def _confirmable(booking: Booking, now: datetime) -> bool:
    """A request is answered before it starts."""
    return booking.status == BookingStatus.REQUESTED.value and now < booking.starts_at


def _finishable(booking: Booking, now: datetime) -> bool:
    """A confirmed booking is recorded as done, or missed, once it has started."""
    return booking.status == BookingStatus.CONFIRMED.value and booking.starts_at <= now


def allowed_actions(booking: Booking, user, now: datetime | None = None) -> set[str]:
    """What ``user`` may do with the booking now, by the rules the operations enforce:
    "cancel"; the facility's "confirm", "decline" (a request) and "finish"."""
    now = now or utcnow()
    actions = {"cancel"} if can_cancel(booking, user, now) else set()
    if operates(user, booking.facility_id):
        if _confirmable(booking, now):
            actions.add("confirm")
        if booking.status == BookingStatus.REQUESTED.value:
            actions.add("decline")
        if _finishable(booking, now):
            actions.add("finish")
    return actions
