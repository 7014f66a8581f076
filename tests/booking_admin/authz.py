"""Authorization matrix entries for the operator's booking pages: the facility's own operator
(and admins) act, staff of its area read, everyone else gets 403, a facility out of scope 404;
the menu entry sends an operator to its own calendar."""

from __future__ import annotations

from datetime import time, timedelta

from eldercare.bookings.models import Blackout, Service
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from tests.authz.matrix import STAFF, Route, facility

VIEWERS = STAFF | {"operator"}
ACTORS = frozenset({"admin", "operator"})


def far_day():
    return local_today() + timedelta(days=60)


def _facilities(world, user) -> tuple[Facility, Facility]:
    return tuple(db.session.get(Facility, ident) for ident in facility(world, user))


def _service(facility_row) -> dict:
    # A meal service: every kind of facility may offer one.
    service = Service(
        facility_id=facility_row.id,
        kind="meal",
        name="助餐送餐",
        weekdays=[0, 1, 2, 3, 4, 5, 6],
        opens_at=time(11),
        closes_at=time(13),
        slot_minutes=60,
        capacity=3,
    )
    db.session.add(service)
    db.session.flush()
    return {"facility_id": facility_row.id, "service_id": service.id}


def _blackout(facility_row) -> dict:
    blackout = Blackout(facility_id=facility_row.id, day=far_day(), reason="检修")
    db.session.add(blackout)
    db.session.flush()
    return {"facility_id": facility_row.id, "blackout_id": blackout.id}


def _record(make):
    """A target of one record of the facility in scope and one of the facility out of it."""

    def target(world, user):
        return tuple(make(f) for f in _facilities(world, user))

    return target


def _another_week(world, user):
    """The facilities of ``facility``, shown on a week two months ahead."""
    week = far_day().isoformat()
    return tuple({"facility_id": ident, "week": week} for ident in facility(world, user))


SERVICE_FORM = {
    "name": "家属探视",
    "weekdays": ["0", "2", "4"],
    "opens_at": "09:00",
    "closes_at": "11:00",
    "slot_minutes": "30",
    "capacity": "2",
}


def _post(endpoint, target, data, arg="facility_id"):
    return Route(endpoint, "POST", allowed=ACTORS, target=target, arg=arg, data=data, ok=(302,))


ROUTES = [
    Route("booking_admin.calendar", allowed=VIEWERS, target=facility, arg="facility_id"),
    Route("booking_admin.calendar", allowed=VIEWERS, target=_another_week, note="another week"),
    Route("booking_admin.services", allowed=VIEWERS, target=facility, arg="facility_id"),
    Route("booking_admin.new_service", allowed=ACTORS, target=facility, arg="facility_id"),
    _post("booking_admin.new_service", facility, lambda w, u: SERVICE_FORM | {"kind": "visit"}),
    Route("booking_admin.edit_service", allowed=ACTORS, target=_record(_service)),
    _post("booking_admin.edit_service", _record(_service), lambda w, u: SERVICE_FORM),
    _post("booking_admin.add_blackout", facility, lambda w, u: {"day": far_day().isoformat()}),
    _post("booking_admin.remove_blackout", _record(_blackout), lambda w, u: {}),
    Route("booking_desk.index", allowed=frozenset({"operator"}), ok=(302,)),
]
