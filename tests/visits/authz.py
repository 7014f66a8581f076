"""Authorization matrix entries for the visit pages: visitors reach only the people assigned
to them, township staff their township, county staff their county."""

from datetime import UTC, datetime, timedelta

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.visits.models import CareTarget
from tests.authz.matrix import Route
from tests.builders import build_person, build_user
from tests.visits.helpers import build_target, record, visit_form, visit_json

FIELD = frozenset({"admin", "county_staff", "township_staff", "visitor"})
MANAGERS = frozenset({"admin", "county_staff", "township_staff"})


def _outside(world, user):
    """The nearest person the user may not see: for a visitor a neighbour in the same
    village not assigned to them, for township staff the next township, for county staff
    the other county."""
    if user.role == "visitor":
        return _neighbour(world)
    if user.role == "township_staff":
        return world.person_a2
    return world.person_b


def _neighbour(world):
    from eldercare.people.models import Person

    name = "同村未分配老人"
    existing = db.session.scalar(db.select(Person).where(Person.name == name))
    return existing or build_person(world.village_a, name=name, lives_alone=True)


def _target_of(person, visitors=()):
    """The person's plan (made once: the matrix asks for targets several times)."""
    existing = db.session.scalar(db.select(CareTarget).where(CareTarget.person_id == person.id))
    return existing or build_target(person, list(visitors))


def target(world, user):
    inside = _target_of(world.person_a, [world.user("visitor")])
    return inside.id, _target_of(_outside(world, user)).id


def follow_up(world, user):
    ids = []
    for person, visitors in (
        (world.person_a, [world.user("visitor")]),
        (_outside(world, user), []),
    ):
        t = _target_of(person, visitors)
        visit = record(t, world.user("admin"), follow_up="屋顶漏水")
        ids.append(visit.follow_ups[0].id)
    return ids[0], ids[1]


def county(world, user):
    return world.county_a.id, world.county_b.id


def _fresh_person(world, user):
    return build_person(world.village_a, lives_alone=True)


def _second_visitor(world):
    return build_user("visitor", world.village_a)


def _now_form():
    return (datetime.now(UTC) + timedelta(hours=8) - timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M"
    )


POLICY = {
    "high_interval_days": "7",
    "key_interval_days": "30",
    "general_interval_days": "90",
    "first_visit_days": "7",
    "high_risk_age": "80",
    "high_ability_level": "total",
    "key_ability_level": "moderate",
    "due_soon_days": "3",
    "escalation_days": "7",
    "event_visit_hours": "24",
}

ROUTES = [
    Route("visits.due", allowed=FIELD),
    Route("visits.targets", allowed=FIELD),
    Route("visits.follow_ups", allowed=FIELD),
    Route("visits.candidates", allowed=MANAGERS),
    Route(
        "visits.enrol",
        "POST",
        allowed=MANAGERS,
        data=lambda w, u: {"person_id": _fresh_person(w, u).id},
        ok=(302,),
    ),
    Route(
        "visits.enrol_many",
        "POST",
        allowed=MANAGERS,
        data=lambda w, u: {"person_ids": [_fresh_person(w, u).id]},
        ok=(302,),
    ),
    Route("visits.target", allowed=FIELD, target=target, arg="target_id"),
    Route("visits.record", allowed=FIELD, target=target, arg="target_id"),
    Route(
        "visits.record",
        "POST",
        allowed=FIELD,
        target=target,
        arg="target_id",
        data=lambda w, u: visit_form(),
        ok=(302,),
    ),
    Route(
        "visits.report_event",
        "POST",
        allowed=FIELD,
        target=target,
        arg="target_id",
        data=lambda w, u: {"kind": "fall", "occurred_at": _now_form()},
        ok=(302,),
    ),
    Route(
        "visits.override",
        "POST",
        allowed=MANAGERS,
        target=target,
        arg="target_id",
        data=lambda w, u: {"tier": "high", "reason": "独居且近期跌倒"},
        ok=(302,),
    ),
    Route(
        "visits.assign",
        "POST",
        allowed=MANAGERS,
        target=target,
        arg="target_id",
        data=lambda w, u: {"visitor_id": _second_visitor(w).id},
        ok=(302,),
    ),
    Route(
        "visits.unassign",
        "POST",
        allowed=MANAGERS,
        target=target,
        arg="target_id",
        data=lambda w, u: {"visitor_id": w.user("visitor").id},
        ok=(302,),
    ),
    Route(
        "visits.end",
        "POST",
        allowed=MANAGERS,
        target=target,
        arg="target_id",
        data=lambda w, u: {"reason": "moved", "ended_on": local_today().isoformat()},
        ok=(302,),
    ),
    Route(
        "visits.close_follow_up",
        "POST",
        allowed=FIELD,
        target=follow_up,
        arg="follow_up_id",
        data=lambda w, u: {"resolution": "已维修"},
        ok=(302,),
    ),
    Route("visits.coverage", allowed=MANAGERS),
    Route("visits.ledger", allowed=MANAGERS),
    Route(
        "visits.policy",
        allowed=frozenset({"admin", "county_staff"}),
        target=county,
        arg="region_id",
    ),
    Route(
        "visits.policy",
        "POST",
        allowed=frozenset({"admin", "county_staff"}),
        target=county,
        arg="region_id",
        data=lambda w, u: POLICY,
        ok=(302,),
    ),
    Route("api_visits.due", allowed=FIELD, api=True),
    Route(
        "api_visits.record",
        "POST",
        allowed=FIELD,
        api=True,
        target=target,
        arg="target_id",
        data=lambda w, u: visit_json(),
        ok=(201,),
    ),
]
