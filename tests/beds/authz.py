"""Authorization matrix entries for the bed board and bed pages (two URL parameters)."""

from datetime import timedelta

from eldercare.beds import operations as ops
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from tests.authz.matrix import STAFF, Route, facility
from tests.builders import LOW_RISKS, build_bed, build_person, build_room

VIEWERS = STAFF | {"operator"}
ACTORS = frozenset({"admin", "operator"})


def yesterday() -> str:
    return (local_today() - timedelta(days=1)).isoformat()


def _outside(world, user):
    """The nearest facility the user may not see (admin: any other one)."""
    if user.role in ("operator", "township_staff"):
        return world.facility_a2
    return world.facility_b


def _bed_in(fac, state: str = "vacant"):
    bed = build_bed(build_room(fac))
    admin = _admin()
    if state in ("occupied", "held"):
        person = build_person(fac.region)
        stay = ops.admit(bed, person, local_today() - timedelta(days=10), LOW_RISKS, admin)
        if state == "held":
            ops.start_leave(stay, local_today() - timedelta(days=2), "", admin)
    elif state == "reserved":
        ops.reserve(bed, "王大爷", utcnow() + timedelta(days=3), admin)
    elif state == "out_of_service":
        ops.take_out_of_service(bed, "维修", local_today() - timedelta(days=1), admin)
    return {"facility_id": fac.id, "bed_id": bed.id}


def _admin():
    from eldercare.auth.models import User

    return db.session.scalar(db.select(User).where(User.username == "w_admin"))


def bed(state: str = "vacant"):
    def target(world, user):
        return _bed_in(world.facility_a, state), _bed_in(_outside(world, user), state)

    return target


def admit_form(world, user):
    return {
        "id_number": world.person_a.id_number,
        "name": world.person_a.name,
        "admitted_on": yesterday(),
        **{f"risks[{key}]": level for key, level in LOW_RISKS.items()},
    }


def transfer_form(world, user):
    free = build_bed(build_room(world.facility_a))
    return {"bed_id": free.id, "on": yesterday()}


def bed_form(world, user):
    room = build_room(world.facility_a)
    return {"room_id": room.id, "label": "1", "care_type": "nursing", "monthly_price": "2500"}


def _action(endpoint, state, data=None):
    return Route(
        endpoint,
        "POST",
        allowed=ACTORS,
        target=bed(state),
        data=data or (lambda w, u: {}),
        ok=(302,),
    )


ROUTES = [
    Route("beds.board", allowed=VIEWERS, target=facility, arg="facility_id"),
    Route("beds.show", allowed=VIEWERS, target=bed("occupied")),
    _action("beds.admit", "vacant", admit_form),
    _action(
        "beds.discharge", "occupied", lambda w, u: {"discharged_on": yesterday(), "reason": "home"}
    ),
    _action("beds.transfer", "occupied", transfer_form),
    _action("beds.start_leave", "occupied", lambda w, u: {"start_on": yesterday()}),
    _action("beds.end_leave", "held", lambda w, u: {"end_on": local_today().isoformat()}),
    _action(
        "beds.reserve",
        "vacant",
        lambda w, u: {
            "holder_name": "李大娘",
            "expires_at": (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    ),
    _action("beds.release", "reserved"),
    _action(
        "beds.out_of_service", "vacant", lambda w, u: {"reason": "维修", "start_on": yesterday()}
    ),
    _action("beds.back_in_service", "out_of_service", lambda w, u: {"on": yesterday()}),
    Route(
        "beds.add_room",
        "POST",
        allowed=ACTORS,
        target=facility,
        arg="facility_id",
        data=lambda w, u: {"floor": "2", "number": "B201"},
        ok=(302,),
    ),
    Route(
        "beds.add_bed",
        "POST",
        allowed=ACTORS,
        target=facility,
        arg="facility_id",
        data=bed_form,
        ok=(302,),
    ),
    Route("beds.import_beds", allowed=ACTORS, target=facility, arg="facility_id"),
    Route(
        "beds.import_beds",
        "POST",
        allowed=ACTORS,
        target=facility,
        arg="facility_id",
        ok=(422,),
        note="no file: refused",
    ),
]
