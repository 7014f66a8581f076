"""Authorization matrix entries for the beds operator API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eldercare.beds import operations as ops
from tests.authz.matrix import Route
from tests.builders import LOW_RISKS, build_bed, build_person, build_room

READERS = frozenset({"admin", "county_staff", "township_staff", "operator"})
ACTORS = frozenset({"admin", "operator"})


def _outside(world, user):
    """The nearest facility out of the user's scope: the next one in the county for an
    operator and township staff, the other county's for everyone else."""
    if user.role in ("operator", "township_staff"):
        return world.facility_a2
    return world.facility_b


def _vacant_in(facility):
    return build_bed(build_room(facility))


def _occupied_in(world, facility, on_leave=False):
    bed = _vacant_in(facility)
    admin = world.user("admin")
    person = build_person(world.village_a)
    stay = ops.admit(bed, person, ops.local_today(), LOW_RISKS, admin)
    if on_leave:
        ops.start_leave(stay, ops.local_today(), "", admin)
    return bed


def vacant_bed(world, user):
    return _vacant_in(world.facility_a).id, _vacant_in(_outside(world, user)).id


def occupied_bed(world, user):
    return _occupied_in(world, world.facility_a).id, _occupied_in(world, _outside(world, user)).id


def bed_on_leave(world, user):
    return (
        _occupied_in(world, world.facility_a, on_leave=True).id,
        _occupied_in(world, _outside(world, user), on_leave=True).id,
    )


def _reserved_in(world, facility):
    bed = _vacant_in(facility)
    ops.reserve(bed, "王大爷", datetime.now(UTC) + timedelta(days=3), world.user("admin"))
    return bed


def reserved_bed(world, user):
    return _reserved_in(world, world.facility_a).id, _reserved_in(world, _outside(world, user)).id


def _out_in(world, facility):
    bed = _vacant_in(facility)
    ops.take_out_of_service(bed, "维修", ops.local_today(), world.user("admin"))
    return bed


def out_of_service_bed(world, user):
    return _out_in(world, world.facility_a).id, _out_in(world, _outside(world, user)).id


def facility(world, user):
    return world.facility_a.id, _outside(world, user).id


def admission(world, user):
    person = build_person(world.village_a)
    return {
        "id_number": person.id_number,
        "name": person.name,
        "admitted_on": ops.local_today().isoformat(),
        "risks": LOW_RISKS,
    }


def transfer_to(world, user):
    return {"bed_id": _vacant_in(world.facility_a).id, "on": ops.local_today().isoformat()}


def bulk(world, user):
    bed = _vacant_in(world.facility_a)
    return {"items": [{"bed_id": bed.id, "monthly_price": "1800.00"}]}


def today(key):
    return lambda w, u: {key: ops.local_today().isoformat()}


ROUTES = [
    Route("api_beds.list_beds", allowed=READERS, api=True, target=facility, arg="facility_id"),
    Route("api_beds.get_bed", allowed=READERS, api=True, target=occupied_bed, arg="bed_id"),
    Route(
        "api_beds.update_bed",
        "PATCH",
        allowed=ACTORS,
        api=True,
        target=vacant_bed,
        arg="bed_id",
        data=lambda w, u: {"care_type": "dementia", "monthly_price": "3100.50"},
    ),
    Route(
        "api_beds.admit",
        "POST",
        allowed=ACTORS,
        api=True,
        target=vacant_bed,
        arg="bed_id",
        data=admission,
        ok=(201,),
    ),
    Route(
        "api_beds.discharge",
        "POST",
        allowed=ACTORS,
        api=True,
        target=occupied_bed,
        arg="bed_id",
        data=lambda w, u: {"discharged_on": ops.local_today().isoformat(), "reason": "home"},
    ),
    Route(
        "api_beds.transfer",
        "POST",
        allowed=ACTORS,
        api=True,
        target=occupied_bed,
        arg="bed_id",
        data=transfer_to,
        ok=(201,),
    ),
    Route(
        "api_beds.start_leave",
        "POST",
        allowed=ACTORS,
        api=True,
        target=occupied_bed,
        arg="bed_id",
        data=today("start_on"),
        ok=(201,),
    ),
    Route(
        "api_beds.end_leave",
        "POST",
        allowed=ACTORS,
        api=True,
        target=bed_on_leave,
        arg="bed_id",
        data=today("end_on"),
    ),
    Route(
        "api_beds.reserve",
        "POST",
        allowed=ACTORS,
        api=True,
        target=vacant_bed,
        arg="bed_id",
        data=lambda w, u: {
            "holder_name": "李大妈",
            "expires_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        },
        ok=(201,),
    ),
    Route(
        "api_beds.release_reservation",
        "DELETE",
        allowed=ACTORS,
        api=True,
        target=reserved_bed,
        arg="bed_id",
        ok=(204,),
    ),
    Route(
        "api_beds.take_out_of_service",
        "POST",
        allowed=ACTORS,
        api=True,
        target=vacant_bed,
        arg="bed_id",
        data=lambda w, u: {"reason": "维修", "start_on": ops.local_today().isoformat()},
        ok=(201,),
    ),
    Route(
        "api_beds.back_in_service",
        "POST",
        allowed=ACTORS,
        api=True,
        target=out_of_service_bed,
        arg="bed_id",
        data=today("on"),
    ),
    Route("api_beds.bulk_update", "POST", allowed=ACTORS, api=True, data=bulk),
]
