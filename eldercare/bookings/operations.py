"""What can be done with bookings: operators define services, their hours and blackout days;
families book a slot for a verified relative; operators confirm, decline, complete; either
side cancels. Operations never commit.

No overbooking: a slot's place is taken only by ``UPDATE booking_slot SET booked = booked + 1
WHERE id = ? AND booked < capacity``; the database evaluates the condition on the latest
committed row, so of any number of simultaneous bookings exactly ``capacity`` succeed.
A relative's own bookings are serialised by locking the person's row, so two family members
cannot give one relative two overlapping bookings at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload, selectinload

from eldercare.auth.models import User
from eldercare.beds import operations as beds
from eldercare.beds.models import Bed, Reservation, Room, free_bed
from eldercare.bookings import notices
from eldercare.bookings.models import (
    HOLDING_STATUSES,
    LAPSED_REASON,
    LINK_REVOKED_REASON,
    OFFERED_BY,
    OPEN_STATUSES,
    Blackout,
    Booking,
    BookingStatus,
    Service,
    ServiceKind,
    Slot,
)
from eldercare.core import audit
from eldercare.core.db import local_date, local_zone, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import Role, operates, role_of, visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.notifications.operations import notify_many
from eldercare.people.models import FamilyLink, LinkStatus, Person

#: An accepted admission application keeps the bed this many days after the agreed day.
ADMISSION_HOLD_DAYS = 3
#: Longest look-ahead of the booking page in one screen.
PAGE_DAYS = 14


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


# --- availability --------------------------------------------------------------------------


def slot_times(service: Service, day: date) -> list[tuple[datetime, datetime]]:
    """The slots of a service on a day, as UTC (start, end), from its hours and slot length;
    a slot as long as the opening hours or longer is the whole day (a trial day)."""
    zone = local_zone()
    opens = datetime.combine(day, service.opens_at, zone)
    closes = datetime.combine(day, service.closes_at, zone)
    step = timedelta(minutes=service.slot_minutes)
    if opens + step >= closes:
        return [(opens.astimezone(UTC), closes.astimezone(UTC))]
    out = []
    start = opens
    while start + step <= closes:
        out.append((start.astimezone(UTC), (start + step).astimezone(UTC)))
        start += step
    return out


def _blackout_days(service: Service, first: date, last: date) -> set[date]:
    return set(
        db.session.scalars(
            sa.select(Blackout.day).where(
                Blackout.facility_id == service.facility_id,
                Blackout.day.between(first, last),
                sa.or_(Blackout.service_id.is_(None), Blackout.service_id == service.id),
            )
        )
    )


def window(service: Service, now: datetime) -> tuple[datetime, date]:
    """The earliest start one may book now, and the last day one may book."""
    return (
        now + timedelta(hours=service.min_notice_hours),
        local_date(now) + timedelta(days=service.max_days_ahead),
    )


@dataclass(frozen=True)
class SlotView:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass
class DayView:
    day: date
    slots: list[SlotView] = field(default_factory=list)
    closed_reason: str | None = None

    @property
    def free(self) -> int:
        return sum(s.free for s in self.slots)


def availability(
    service: Service, now: datetime | None = None, first: date | None = None, days: int = 7
) -> list[DayView]:
    """The bookable slots of ``days`` days from ``first`` (today): weekdays and hours of the
    service, no blackout day, not before the minimum notice nor past the last day ahead, and
    the places left (one query for the slots already booked)."""
    now = now or utcnow()
    today = local_date(now)
    first = max(first or today, today)
    earliest, last_day = window(service, now)
    last = min(first + timedelta(days=days - 1), last_day)
    if last < first:
        return []
    closed = _blackout_days(service, first, last)
    taken = {
        row.starts_at: row
        for row in db.session.scalars(
            sa.select(Slot).where(
                Slot.service_id == service.id,
                Slot.starts_at >= datetime.combine(first, time(0), local_zone()),
                Slot.starts_at < datetime.combine(last + timedelta(days=1), time(0), local_zone()),
            )
        )
    }
    out = []
    day = first
    while day <= last:
        if day.weekday() in (service.weekdays or []):
            view = DayView(day)
            if day in closed:
                view.closed_reason = "closed"
            else:
                for start, end in slot_times(service, day):
                    if start < earliest:
                        continue
                    row = taken.get(start)
                    view.slots.append(
                        SlotView(
                            start,
                            end,
                            row.capacity if row else service.capacity,
                            row.booked if row else 0,
                        )
                    )
            out.append(view)
        day += timedelta(days=1)
    return out


def _check_bookable(service: Service, starts_at: datetime, now: datetime) -> datetime:
    """The end of the slot starting at ``starts_at``, or Invalid saying why it cannot be
    booked."""
    starts_at = starts_at.astimezone(UTC)
    day = local_date(starts_at)
    earliest, last_day = window(service, now)
    if not service.active or not service.facility.active:
        raise Invalid(_l("This service is not taking bookings."))
    if starts_at < now:
        raise Invalid(errors={"starts_at": [_l("This time has passed.")]})
    if starts_at < earliest:
        raise Invalid(
            errors={
                "starts_at": [
                    _l(
                        "Bookings must be made at least %(hours)s hours ahead.",
                        hours=service.min_notice_hours,
                    )
                ]
            }
        )
    if day > last_day:
        raise Invalid(
            errors={
                "starts_at": [
                    _l(
                        "Bookings can be made at most %(days)s days ahead.",
                        days=service.max_days_ahead,
                    )
                ]
            }
        )
    if day.weekday() not in (service.weekdays or []) or _blackout_days(service, day, day):
        raise Invalid(errors={"starts_at": [_l("The service is closed on this day.")]})
    for start, end in slot_times(service, day):
        if start == starts_at:
            return end
    raise Invalid(errors={"starts_at": [_l("This is not one of the service's times.")]})


def _slot_for(service: Service, starts_at: datetime, ends_at: datetime) -> Slot:
    """The slot row, written if this is its first booking (concurrent writers: one row)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(Slot)
        .values(
            service_id=service.id,
            facility_id=service.facility_id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=service.capacity,
            booked=0,
        )
        .on_conflict_do_nothing(index_elements=["service_id", "starts_at"])
    )
    return db.session.execute(
        sa.select(Slot)
        .where(Slot.service_id == service.id, Slot.starts_at == starts_at)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _take_place(slot: Slot) -> bool:
    """Take one place if one is left, atomically; whether it was taken."""
    result = db.session.execute(
        sa.update(Slot)
        .where(Slot.id == slot.id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(slot)
    return result.rowcount == 1


def _give_back_place(slot_id: int) -> None:
    # "fetch": a Slot already in the session learns its new count (a stale one would be
    # shown, and checked against, as if the place were still taken).
    db.session.execute(
        sa.update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session="fetch")
    )


FULL = _l("This time is fully booked. Please choose another time.")


# --- booking -------------------------------------------------------------------------------


def bookable_relatives(user) -> list[Person]:
    """The verified relatives a family member may book for (the living)."""
    return list(
        db.session.scalars(
            visible(Person, user).where(Person.death_date.is_(None)).order_by(Person.id)
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
    person = _lock_person(person.id)
    if person.is_deceased:
        raise Invalid(errors={"person_id": [_l("This person is recorded as deceased.")]})
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
    if booking.status != BookingStatus.REQUESTED.value:
        raise Conflict(_l("Only a booking waiting for confirmation can be confirmed."))
    if booking.starts_at <= now:
        raise Conflict(_l("This booking's time has passed; it can no longer be confirmed."))
    if booking.service.kind == ServiceKind.ADMISSION.value:
        if bed is None:
            raise Invalid(errors={"bed_id": [_l("Choose the bed to reserve.")]})
        if bed.facility_id != booking.facility_id:
            raise Invalid(errors={"bed_id": [_l("The bed is not in this facility.")]})
    if not _take_place(booking.slot):
        raise Conflict(FULL)
    if bed is not None and booking.service.kind == ServiceKind.ADMISSION.value:
        expires = datetime.combine(
            local_date(booking.starts_at) + timedelta(days=ADMISSION_HOLD_DAYS + 1),
            time(0),
            local_zone(),
        ).astimezone(UTC)
        reservation = beds.reserve(bed, booking.person.name, expires, by, person=booking.person)
        booking.reservation_id = reservation.id
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


def _cancelled(booking: Booking, by, reason: str, now: datetime) -> str:
    """Cancel an open booking (locked by the caller): a confirmed one gives its place back and
    an admission's bed reservation ends; audited. The status it had."""
    before = booking.status
    if before == BookingStatus.CONFIRMED.value:
        _give_back_place(booking.slot_id)
        _end_reservation(booking, by)
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
        note=reason,
    )
    return before


def _end_reservation(booking: Booking, by) -> None:
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


def finish(booking: Booking, outcome: str, by, now=None) -> Booking:
    """The operator records that a confirmed booking took place, or that nobody came."""
    now = now or utcnow()
    _require_manager(by, booking.facility_id)
    booking = _lock(booking)
    if outcome not in (BookingStatus.COMPLETED.value, BookingStatus.NO_SHOW.value):
        raise Invalid(errors={"outcome": [_l("Not a valid choice.")]})
    if booking.status != BookingStatus.CONFIRMED.value:
        raise Conflict(_l("Only a confirmed booking can be completed or marked as missed."))
    if now < booking.starts_at:
        raise Conflict(_l("This booking has not started yet."))
    if outcome == BookingStatus.NO_SHOW.value:
        _end_reservation(booking, by)  # nobody came: the bed is free for others at once
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


# --- lists ---------------------------------------------------------------------------------


def family_bookings(user, upcoming: bool, now=None) -> sa.Select:
    """The bookings of a family member's verified relatives: to come (soonest first) or past
    and ended (latest first)."""
    now = now or utcnow()
    stmt = visible(Booking, user)
    if upcoming:
        return stmt.where(Booking.status.in_(OPEN_STATUSES), Booking.ends_at >= now).order_by(
            Booking.starts_at, Booking.id
        )
    return stmt.where(sa.or_(Booking.status.notin_(OPEN_STATUSES), Booking.ends_at < now)).order_by(
        Booking.starts_at.desc(), Booking.id.desc()
    )


def bookings_of_person(person: Person, limit: int = 20) -> list[Booking]:
    """A relative's bookings, newest first, for the family's page of that relative."""
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(Booking.person_id == person.id)
            .options(joinedload(Booking.service), joinedload(Booking.facility))
            .order_by(Booking.starts_at.desc(), Booking.id.desc())
            .limit(limit)
        )
    )


def calendar(facility: Facility, first: date, days: int = 7) -> dict[date, list[Booking]]:
    """A facility's bookings of ``days`` days from ``first``, by local day, in time order
    (one query, with services and relatives loaded)."""
    zone = local_zone()
    rows = db.session.scalars(
        sa.select(Booking)
        .where(
            Booking.facility_id == facility.id,
            Booking.starts_at >= datetime.combine(first, time(0), zone),
            Booking.starts_at < datetime.combine(first + timedelta(days=days), time(0), zone),
        )
        .options(joinedload(Booking.service), joinedload(Booking.person))
        .order_by(Booking.starts_at, Booking.id)
    )
    out: dict[date, list[Booking]] = defaultdict(list)
    for booking in rows:
        out[local_date(booking.starts_at)].append(booking)
    return {first + timedelta(days=i): out.get(first + timedelta(days=i), []) for i in range(days)}


def pending_requests(facility: Facility) -> list[Booking]:
    return list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.facility_id == facility.id,
                Booking.status == BookingStatus.REQUESTED.value,
            )
            .options(joinedload(Booking.service), joinedload(Booking.person))
            .order_by(Booking.starts_at, Booking.id)
        )
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


def check_counts(slot_id: int) -> tuple[int, int]:
    """(the slot's counter, the bookings it holds): equal unless something is wrong. Both
    are read from the database, never from a Slot the session already holds."""
    booked = db.session.scalar(sa.select(Slot.booked).where(Slot.id == slot_id))
    held = db.session.scalar(
        sa.select(sa.func.count(Booking.id)).where(
            Booking.slot_id == slot_id, Booking.status.in_(HOLDING_STATUSES)
        )
    )
    return booked, held


# --- scheduled work ------------------------------------------------------------------------


def expire_requests(now: datetime | None = None) -> int:
    """Requests the operator never answered before their start are cancelled, and the family
    told, so no request waits forever."""
    now = now or utcnow()
    stale = list(
        db.session.scalars(
            sa.select(Booking)
            .where(
                Booking.status == BookingStatus.REQUESTED.value,
                Booking.starts_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
    )
    for booking in stale:
        booking.status = BookingStatus.CANCELLED.value
        booking.ended_at = now
        booking.reason = LAPSED_REASON
        audit.record(
            "booking.expired",
            booking,
            changes={"status": [BookingStatus.REQUESTED.value, booking.status]},
        )
    db.session.flush()
    if stale:
        notify_many(n for booking in stale for n in notices.expired(booking))
    return len(stale)


def due_reminders(now: datetime | None = None) -> int:
    """A reminder the day before each confirmed booking of tomorrow (local days); the
    outbox key makes a second run enqueue nothing."""
    now = now or utcnow()
    tomorrow = local_date(now) + timedelta(days=1)
    zone = local_zone()
    bookings = db.session.scalars(
        sa.select(Booking)
        .join(Person, Person.id == Booking.person_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED.value,
            Booking.starts_at >= datetime.combine(tomorrow, time(0), zone),
            Booking.starts_at < datetime.combine(tomorrow + timedelta(days=1), time(0), zone),
            # Nobody is reminded of a booking for someone who has died, nor by a relative
            # whose link is no longer verified.
            Person.death_date.is_(None),
            sa.exists().where(
                FamilyLink.user_id == Booking.user_id,
                FamilyLink.person_id == Booking.person_id,
                FamilyLink.status == LinkStatus.VERIFIED.value,
            ),
        )
        .options(
            joinedload(Booking.service),
            joinedload(Booking.user),
            joinedload(Booking.person),
            joinedload(Booking.facility),
        )
        .order_by(Booking.id)
    )
    return notify_many(n for booking in bookings for n in notices.reminder(booking))


#: The reason of a booking cancelled because the relative's death was recorded.
DECEASED_REASON = "deceased"


def cancel_for_the_deceased(now: datetime | None = None) -> int:
    """Open bookings of people whose death is recorded are cancelled (their places given
    back, an admission's bed released) and the facility told; the family is not sent booking
    notices about a parent who has died."""
    now = now or utcnow()
    bookings = list(
        db.session.scalars(
            sa.select(Booking)
            .join(Person, Person.id == Booking.person_id)
            .where(Booking.status.in_(OPEN_STATUSES), Person.death_date.is_not(None))
            .order_by(Booking.id)
            .with_for_update(of=Booking, skip_locked=True)
        )
    )
    for booking in bookings:
        _cancelled(booking, None, DECEASED_REASON, now)
        notify_many(notices.cancelled_by_family(booking, _operators(booking.facility_id)))
    return len(bookings)


def bookable_service(service_id: int) -> Service | None:
    """An active service of an active facility: public, and open to booking."""
    return db.session.scalar(
        sa.select(Service)
        .join(Facility, Facility.id == Service.facility_id)
        .where(Service.id == service_id, Service.active.is_(True), Facility.active.is_(True))
        .options(sa.orm.contains_eager(Service.facility))
    )
