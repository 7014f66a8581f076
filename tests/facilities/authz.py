"""Authorization matrix entries for the facility registry."""

from tests.authz.matrix import STAFF, Route, facility

VIEWERS = STAFF | {"operator"}
EDITORS = frozenset({"admin", "county_staff", "operator"})
CREATORS = frozenset({"admin", "county_staff"})


def facility_form(world, user):
    return {
        "name": "马营镇敬老院",
        "kind": "township_home",
        "ownership": "public",
        "region_id": world.township_a.id,
        "address": "马营镇",
        "active": "1",
    }


def facility_json(world, user):
    return {
        "name": "马营镇敬老院",
        "kind": "township_home",
        "ownership": "public",
        "region_id": world.township_a.id,
        "address": "马营镇",
    }


ROUTES = [
    Route("facilities.index", allowed=VIEWERS),
    Route("facilities.new", allowed=CREATORS),
    Route("facilities.new", "POST", allowed=CREATORS, data=facility_form, ok=(302,)),
    Route("facilities.show", allowed=VIEWERS, target=facility, arg="facility_id"),
    Route("facilities.edit", allowed=EDITORS, target=facility, arg="facility_id"),
    Route(
        "facilities.edit",
        "POST",
        allowed=EDITORS,
        target=facility,
        arg="facility_id",
        data=facility_form,
        ok=(302,),
    ),
    Route("api_facilities.list_facilities", allowed=VIEWERS, api=True),
    Route(
        "api_facilities.create_facility",
        "POST",
        allowed=CREATORS,
        api=True,
        data=facility_json,
        ok=(201,),
    ),
    Route(
        "api_facilities.get_facility", allowed=VIEWERS, api=True, target=facility, arg="facility_id"
    ),
    Route(
        "api_facilities.update_facility",
        "PUT",
        allowed=EDITORS,
        api=True,
        target=facility,
        arg="facility_id",
        data=facility_json,
    ),
]
