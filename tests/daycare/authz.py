"""Authorization matrix entries for a day-care center's pages: its operators act, staff of
its area read, everyone else (and another center's operator) gets 403 or 404."""

from __future__ import annotations

import itertools
from datetime import timedelta

from eldercare.core.db import local_today, utcnow
from eldercare.daycare import operations as ops
from eldercare.daycare.models import ClosedDay
from eldercare.extensions import db
from tests.authz.matrix import STAFF, Route
from tests.daycare.helpers import make_center, make_member
from tests.visits.helpers import admin

VIEWERS = STAFF | {"operator"}
_days = itertools.count(400)
ACTORS = frozenset({"admin", "operator"})


def _outside(world, user):
    """The nearest center the user may not see: another center of the same county for an
    operator and township staff, the other county's for county staff."""
    if user.role in ("operator", "township_staff"):
        return world.facility_a2
    return world.facility_b


def _pair(world, user):
    return make_center(world.facility_a), make_center(_outside(world, user))


def center(world, user):
    inside, outside = _pair(world, user)
    return inside.id, outside.id


def _record(make):
    """A target of one record of each center: {facility_id, <record>_id}."""

    def target(world, user):
        return tuple(make(f) for f in _pair(world, user))

    return target


def _attendance(facility):
    today = local_today()
    member = make_member(facility)
    a = ops.check_in(facility, member.person, today, admin())
    return {"facility_id": facility.id, "attendance_id": a.id}


def _meal(facility):
    today = local_today()
    member = make_member(facility)
    ops.check_in(facility, member.person, today, admin())
    meal = ops.serve_meal(facility, member.person, today, "lunch", admin())
    return {"facility_id": facility.id, "meal_id": meal.id}


def _member(facility):
    return {"facility_id": facility.id, "member_id": make_member(facility).id}


def _incident(facility):
    incident = ops.report_incident(
        facility,
        {"occurred_at": utcnow(), "risk": "fall", "severity": "minor", "description": "滑倒"},
        None,
        admin(),
    )
    return {"facility_id": facility.id, "incident_id": incident.id}


def _closed(facility):
    today = local_today()
    closed = ClosedDay(facility_id=facility.id, day=today + timedelta(days=next(_days)))
    db.session.add(closed)
    db.session.flush()
    return {"facility_id": facility.id, "closed_id": closed.id}


def _walk_in_form(world, user):
    today = local_today()
    from tests.builders import build_person

    person = build_person(world.village_a)
    return {"day": today.isoformat(), "id_number": person.id_number, "name": person.name}


def _member_person(world, user):
    today = local_today()
    member = make_member(world.facility_a)
    return {"day": today.isoformat(), "person_id": member.person_id}


def _checked_in(world, user):
    today = local_today()
    member = make_member(world.facility_a)
    ops.check_in(world.facility_a, member.person, today, admin())
    return {"day": today.isoformat(), "person_id": member.person_id, "meal_type": "lunch"}


def _new_member(world, user):
    today = local_today()
    from tests.builders import build_person

    person = build_person(world.village_a)
    return {
        "id_number": person.id_number,
        "name": person.name,
        "joined_on": today.isoformat(),
        "days": ["0", "2"],
    }


def _activity_form(world, user):
    today = local_today().isoformat()
    return {
        "title": "太极拳",
        "category": "exercise",
        "starts_at": today + "T00:05",
        "ends_at": today + "T00:35",
    }


def _a_day_next_year(world, user):
    today = local_today()
    return {"day": today.replace(year=today.year + 1).isoformat()}


def _post(endpoint, target, data, arg="facility_id"):
    return Route(endpoint, "POST", allowed=ACTORS, target=target, arg=arg, data=data, ok=(302,))


ROUTES = [
    Route("daycare.roster", allowed=VIEWERS, target=center, arg="facility_id"),
    Route("daycare.members", allowed=VIEWERS, target=center, arg="facility_id"),
    Route("daycare.activities", allowed=VIEWERS, target=center, arg="facility_id"),
    Route("daycare.incidents", allowed=VIEWERS, target=center, arg="facility_id"),
    Route("daycare.settings", allowed=VIEWERS, target=center, arg="facility_id"),
    Route("daycare.member", allowed=VIEWERS, target=_record(_member)),
    _post("daycare.check_in", center, _member_person),
    _post("daycare.check_in", center, _walk_in_form),
    _post("daycare.check_out", _record(_attendance), lambda w, u: {}),
    _post("daycare.cancel_check_in", _record(_attendance), lambda w, u: {}),
    _post("daycare.serve_meal", center, _checked_in),
    _post("daycare.remove_meal", _record(_meal), lambda w, u: {}),
    _post("daycare.add_member", center, _new_member),
    Route(
        "daycare.member",
        "POST",
        allowed=ACTORS,
        target=_record(_member),
        data=lambda w, u: {"days": ["1", "3"], "emergency_phone": "13900001111"},
        ok=(302,),
    ),
    _post(
        "daycare.end_membership",
        _record(_member),
        lambda w, u: {"left_on": local_today().isoformat()},
    ),
    _post(
        "daycare.add_activity",
        center,
        _activity_form,
    ),
    _post(
        "daycare.report_incident",
        center,
        lambda w, u: {
            "occurred_at": local_today().isoformat() + "T00:01",
            "risk": "scald",
            "severity": "minor",
            "description": "热水烫红手背",
        },
    ),
    _post("daycare.close_incident", _record(_incident), lambda w, u: {"resolution": "已处理"}),
    _post(
        "daycare.save_settings",
        center,
        lambda w, u: {"capacity": "25", "open_days": ["0", "1"], "meal_price": "12.00"},
    ),
    _post(
        "daycare.add_closed_day",
        center,
        _a_day_next_year,
    ),
    _post("daycare.remove_closed_day", _record(_closed), lambda w, u: {}),
]
