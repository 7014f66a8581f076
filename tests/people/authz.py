"""Authorization matrix entries for the elderly registry and family links."""

import itertools
from datetime import date

from eldercare.beds.models import Stay
from eldercare.extensions import db
from eldercare.people.models import FamilyLink
from tests.authz.matrix import STAFF, Route, person
from tests.builders import (
    build_bed,
    build_person,
    build_room,
    build_user,
    new_id_number,
)

FAMILY = frozenset({"family"})
_n = itertools.count(1)


def person_form(world, user):
    return {
        "name": "王建国",
        "id_number": new_id_number(sex="M"),
        "region_id": world.village_a.id,
        "hukou_type": "local",
        "economic_status": "none",
    }


def person_update(world, user):
    return {
        "name": "张秀英",
        "region_id": world.village_a.id,
        "hukou_type": "local",
        "economic_status": "none",
        "lives_alone": "1",
    }


def person_update_json(world, user):
    return {"name": "张秀英", "region_id": world.village_a.id, "lives_alone": True}


def pending_link(world, user):
    ids = []
    first = world.person_a
    if user.role == "operator":  # the facility verifies the relatives of its own residents
        first = build_person(world.village_a, name="周玉兰")
        bed = build_bed(build_room(world.facility_a))
        db.session.add(
            Stay(
                bed_id=bed.id,
                facility_id=bed.facility_id,
                person_id=first.id,
                admitted_on=date(2026, 1, 5),
            )
        )
        db.session.flush()
    for p in (first, world.person_b):
        relative = build_user("family", username=f"rel{next(_n)}")
        link = FamilyLink(user_id=relative.id, person_id=p.id, relation="child")
        db.session.add(link)
        db.session.flush()
        ids.append(link.id)
    return ids[0], ids[1]


def link_request(world, user):
    return {"name": world.person_b.name, "id_number": world.person_b.id_number, "relation": "child"}


ROUTES = [
    Route("people.index", allowed=STAFF),
    Route("people.export", allowed=STAFF),
    Route(
        "people.lookup",
        "POST",
        allowed=STAFF,
        ok=(302,),
        data=lambda w, u: {"id_number": w.person_a.id_number},
    ),
    Route("people.new", allowed=STAFF),
    Route("people.new", "POST", allowed=STAFF, data=person_form, ok=(302,)),
    Route("people.show", allowed=STAFF | FAMILY, target=person, arg="person_id"),
    Route("people.edit", allowed=STAFF, target=person, arg="person_id"),
    Route(
        "people.edit",
        "POST",
        allowed=STAFF,
        target=person,
        arg="person_id",
        data=person_update,
        ok=(302,),
    ),
    Route("people.reveal_id", "POST", allowed=STAFF, target=person, arg="person_id"),
    Route(
        "people.record_death",
        "POST",
        allowed=STAFF,
        target=person,
        arg="person_id",
        data=lambda w, u: {"death_date": "2026-01-05"},
        ok=(302,),
    ),
    Route(
        "people.record_move_out",
        "POST",
        allowed=STAFF,
        target=person,
        arg="person_id",
        data=lambda w, u: {"moved_out_on": "2026-01-05", "moved_out_to": "西安市"},
        ok=(302,),
    ),
    Route(
        "people.add_assessment",
        "POST",
        allowed=STAFF,
        target=person,
        arg="person_id",
        data=lambda w, u: {"assessed_on": "2026-01-05", "level": "mild"},
        ok=(302,),
    ),
    Route("people.import_roster", allowed=STAFF),
    Route("people.import_roster", "POST", allowed=STAFF, ok=(422,), note="no file: refused"),
    Route("people.links", allowed=STAFF | {"operator"}),
    Route(
        "people.decide_link",
        "POST",
        allowed=STAFF | {"operator"},
        target=pending_link,
        arg="link_id",
        data=lambda w, u: {"decision": "verified"},
        ok=(302,),
    ),
    Route("people.link_request", allowed=FAMILY),
    Route("people.link_request", "POST", allowed=FAMILY, data=link_request, ok=(302,)),
    # API
    Route("api_people.list_people", allowed=STAFF, api=True),
    Route(
        "api_people.register_person", "POST", allowed=STAFF, api=True, data=person_form, ok=(201,)
    ),
    Route(
        "api_people.lookup",
        "POST",
        allowed=STAFF,
        api=True,
        data=lambda w, u: {"id_number": w.person_a.id_number},
    ),
    Route("api_people.get_person", allowed=STAFF, api=True, target=person, arg="person_id"),
    Route("api_people.my_relatives", allowed=FAMILY, api=True),
    Route(
        "api_people.update_person",
        "PUT",
        allowed=STAFF,
        api=True,
        target=person,
        arg="person_id",
        data=person_update_json,
    ),
    Route("api_people.reveal_id", "POST", allowed=STAFF, api=True, target=person, arg="person_id"),
    Route("api_people.list_assessments", allowed=STAFF, api=True, target=person, arg="person_id"),
    Route(
        "api_people.add_assessment",
        "POST",
        allowed=STAFF,
        api=True,
        target=person,
        arg="person_id",
        data=lambda w, u: {"assessed_on": "2026-01-05", "level": "mild"},
        ok=(201,),
    ),
]
