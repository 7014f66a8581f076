"""Authorization matrix entries for the family's booking pages and the actions on one booking:
families book and see their verified relatives' bookings, the facility's operators answer
them, staff of the area read them; visitors and assessors have no business here."""

from __future__ import annotations

from datetime import timedelta

from eldercare.bookings.models import Booking, BookingStatus, Slot, kinds_offered_by
from eldercare.core.db import utcnow
from eldercare.extensions import db
from tests.authz.matrix import STAFF, Route
from tests.bookings.helpers import family_of, make_service, slot_start

FAMILY = frozenset({"family"})
VIEWERS = STAFF | {"operator", "family"}
ANSWERERS = frozenset({"admin", "operator"})
CANCELLERS = ANSWERERS | FAMILY


def _outside(world, user):
    """The nearest facility the user may not see: another facility of the same county for an
    operator and township staff, the other county's for everyone else."""
    if user.role in ("operator", "township_staff"):
        return world.facility_a2
    return world.facility_b


def booking_row(
    facility, person, booker, status: str = BookingStatus.REQUESTED.value, starts_at=None
):
    """A booking by ``booker`` written as plain rows (service, slot, booking), of the first
    kind of service the facility offers; a confirmed one holds its place."""
    starts_at = starts_at or slot_start(3)
    service = make_service(
        facility, kind=kinds_offered_by(facility.kind)[0].value, auto_confirm=False
    )
    holds = status != BookingStatus.REQUESTED.value
    slot = Slot(
        service_id=service.id,
        facility_id=facility.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        capacity=service.capacity,
        booked=1 if holds else 0,
    )
    db.session.add(slot)
    db.session.flush()
    booking = Booking(
        service_id=service.id,
        facility_id=facility.id,
        slot_id=slot.id,
        person_id=person.id,
        user_id=booker.id,
        starts_at=starts_at,
        ends_at=slot.ends_at,
        status=status,
        contact_phone="13800001111",
        confirmed_at=utcnow() if holds else None,
    )
    db.session.add(booking)
    db.session.flush()
    return booking


def _bookings(status: str = BookingStatus.REQUESTED.value, started: bool = False):
    """A target of one booking in scope (facility A, the family's relative) and one outside
    (the nearest facility the user may not see, another person's relative)."""

    def target(world, user):
        starts_at = utcnow() - timedelta(hours=1) if started else None
        inside = booking_row(
            world.facility_a, world.person_a, world.user("family"), status, starts_at
        )
        outside = booking_row(
            _outside(world, user), world.person_b, family_of(world.person_b), status, starts_at
        )
        return inside.id, outside.id

    return target


def service(world, user):
    """A service anyone may book (services are public: nothing is out of scope)."""
    return make_service(world.facility_a).id, None


def booking_form(world, user):
    return {"person_id": world.person_a.id, "starts_at": slot_start(2).isoformat()}


ROUTES = [
    Route("bookings.mine", allowed=FAMILY),
    Route("bookings.new", allowed=FAMILY, target=service, arg="service_id"),
    Route(
        "bookings.create",
        "POST",
        allowed=FAMILY,
        target=service,
        arg="service_id",
        data=booking_form,
        ok=(302,),
    ),
    Route("bookings.show", allowed=VIEWERS, target=_bookings(), arg="booking_id"),
    Route("bookings.ics", allowed=VIEWERS, target=_bookings(), arg="booking_id"),
    Route(
        "bookings.cancel",
        "POST",
        allowed=CANCELLERS,
        target=_bookings(BookingStatus.CONFIRMED.value),
        arg="booking_id",
        data=lambda w, u: {"reason": "家里临时有事"},
        ok=(302,),
    ),
    Route(
        "bookings.confirm",
        "POST",
        allowed=ANSWERERS,
        target=_bookings(),
        arg="booking_id",
        ok=(302,),
    ),
    Route(
        "bookings.finish",
        "POST",
        allowed=ANSWERERS,
        target=_bookings(BookingStatus.CONFIRMED.value, started=True),
        arg="booking_id",
        data=lambda w, u: {"outcome": "completed"},
        ok=(302,),
    ),
]
