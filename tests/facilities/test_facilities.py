"""The facility registry: county staff create and edit inside their county, operators keep
their own facility's contact details, township staff only look; every change is audited."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from eldercare.facilities.models import Facility

INVALID_FIELD = re.compile(r'class="form-(?:control|select) is-invalid" id="f-([a-z_]+)"')


def form_data(world, **overrides) -> dict:
    data = {
        "name": "渭滨区第二养老院",
        "kind": "nursing_home",
        "ownership": "public_built_private_run",
        "region_id": str(world.township_a.id),
        "address": "马营镇建设路8号",
        "latitude": "34.361234",
        "longitude": "107.237654",
        "licence_no": "陕民养备字2024-018",
        "contact_name": "何院长",
        "contact_phone": "0917-3456789",
        "description": "床位120张，其中护理型床位80张。",
        "active": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def json_data(world, **overrides) -> dict:
    data = form_data(world)
    data["region_id"] = world.township_a.id
    data["active"] = True
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def facilities_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Facility))


def audit(action: str, facility_id: int | None = None) -> list[AuditLog]:
    db.session.expire_all()
    stmt = sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    if facility_id is not None:
        stmt = stmt.where(AuditLog.entity_id == facility_id)
    return list(db.session.scalars(stmt))


def reload(facility: Facility) -> Facility:
    db.session.expire_all()
    return db.session.get(Facility, facility.id)


def by_name(name: str) -> Facility | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Facility).where(Facility.name == name))


def create(client, world, via: str, **overrides):
    if via == "form":
        return client.post("/facilities/new", data=form_data(world, **overrides))
    return client.post("/api/v1/facilities/", json=json_data(world, **overrides))


def error_fields(response, via: str) -> set[str]:
    if via == "form":
        return set(INVALID_FIELD.findall(response.get_data(as_text=True)))
    return set(response.get_json()["errors"])


# --- creating -------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["form", "api"])
def test_county_staff_create_a_facility(client, auth, world, via):
    staff = auth.login_as(world.user("county_staff"))
    response = create(client, world, via)

    facility = by_name("渭滨区第二养老院")
    assert facility is not None
    if via == "form":
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/facilities/{facility.id}")
    else:
        assert response.status_code == 201
        body = response.get_json()
        assert body["id"] == facility.id
        assert body["latitude"] == 34.361234
        assert body["kind"] == "nursing_home"
    assert facility.kind == "nursing_home"
    assert facility.ownership == "public_built_private_run"
    assert facility.region_id == world.township_a.id
    assert facility.latitude == Decimal("34.361234")
    assert facility.longitude == Decimal("107.237654")
    assert facility.licence_no == "陕民养备字2024-018"
    assert facility.contact_phone == "0917-3456789"
    assert facility.active is True

    [entry] = audit("facility.created", facility.id)
    assert entry.actor_id == staff.id
    assert entry.facility_id == facility.id
    assert entry.region_id == world.township_a.id
    assert entry.changes["name"] == [None, "渭滨区第二养老院"]
    assert entry.changes["kind"] == [None, "nursing_home"]


def test_happiness_home_in_a_village_can_be_created_and_edited_by_form(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = create(
        client,
        world,
        "form",
        name="马营东村幸福院",
        kind="happiness_home",
        region_id=str(world.village_a.id),
    )
    assert response.status_code == 302
    home = by_name("马营东村幸福院")
    assert home.region_id == world.village_a.id

    page = client.get(f"/facilities/{home.id}/edit").get_data(as_text=True)
    assert f'<option value="{world.village_a.id}" selected>' in page


@pytest.mark.parametrize("via", ["form", "api"])
@pytest.mark.parametrize("place", ["township_b", "village_b", "county_b"])
def test_region_in_another_county_is_refused(client, auth, world, via, place):
    auth.login_as(world.user("county_staff"))
    before = facilities_count()
    response = create(client, world, via, region_id=getattr(world, place).id)
    assert response.status_code == 422
    assert "region_id" in error_fields(response, via)
    assert facilities_count() == before
    assert audit("facility.created") == []


@pytest.mark.parametrize("region_id", ["province", "city", 999999])
def test_region_above_the_county_or_unknown_is_refused(client, auth, world, region_id):
    auth.login_as(world.user("admin"))
    if region_id == "province":
        region_id = world.county_a.parent.parent.id
    elif region_id == "city":
        region_id = world.county_a.parent.id
    response = create(client, world, "api", region_id=region_id)
    assert response.status_code == 422
    assert "region_id" in response.get_json()["errors"]


def test_admin_may_create_in_any_county(client, auth, world):
    auth.login_as(world.user("admin"))
    response = create(client, world, "api", region_id=world.township_b.id)
    assert response.status_code == 201
    assert by_name("渭滨区第二养老院").region_id == world.township_b.id


@pytest.mark.parametrize("via", ["form", "api"])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "hotel"),
        ("kind", None),
        ("ownership", "foreign"),
        ("ownership", None),
        ("name", "院"),
        ("name", None),
        ("region_id", None),
        ("latitude", "90.000001"),
        ("latitude", "-91"),
        ("latitude", "north"),
        ("latitude", "NaN"),
        ("latitude", "1e400"),
        ("longitude", "180.5"),
        ("longitude", "-181"),
        ("longitude", "Infinity"),
        ("contact_phone", "打这个电话"),
        ("contact_phone", "12"),
        ("contact_phone", "0917 3456789"),
        ("licence_no", "号" * 65),
    ],
)
def test_field_validation(client, auth, world, via, field, value):
    auth.login_as(world.user("county_staff"))
    before = facilities_count()
    overrides = {field: value}
    if via == "form" and value is None:
        overrides = {field: ""}
    response = create(client, world, via, **overrides)
    assert response.status_code == 422
    fields = error_fields(response, via)
    if via == "api":
        assert field in fields
        assert all(m for m in response.get_json()["errors"][field])
    elif field not in ("region_id",):  # the region select marks itself differently
        assert field in fields
    assert facilities_count() == before


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [("90", "180"), ("-90", "-180"), ("0", "0"), (None, None), ("34.1234567", "107.1")],
)
def test_coordinate_boundaries_are_accepted(client, auth, world, latitude, longitude):
    auth.login_as(world.user("county_staff"))
    response = create(client, world, "api", latitude=latitude, longitude=longitude)
    assert response.status_code == 201, response.get_json()
    facility = by_name("渭滨区第二养老院")
    if latitude is None:
        assert facility.latitude is None and facility.longitude is None
    else:
        assert abs(facility.latitude - Decimal(latitude)) < Decimal("0.000001")
        assert facility.longitude == Decimal(longitude)


def test_form_keeps_the_input_after_an_error(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = create(client, world, "form", latitude="99")
    page = response.get_data(as_text=True)
    assert 'value="渭滨区第二养老院"' in page
    assert 'value="99"' in page
    assert INVALID_FIELD.findall(page) == ["latitude"]


# --- editing --------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["form", "api"])
def test_county_staff_edit_a_facility(client, auth, world, via):
    staff = auth.login_as(world.user("county_staff"))
    facility = world.facility_a
    changes = {
        "name": "马营镇中心敬老院",
        "kind": "nursing_home",
        "ownership": "private",
        "licence_no": "新证号",
        "region_id": world.village_a.id,
    }
    if via == "form":
        # An unticked checkbox sends nothing at all.
        response = client.post(
            f"/facilities/{facility.id}/edit", data=form_data(world, active=None, **changes)
        )
        assert response.status_code == 302
    else:
        response = client.put(
            f"/api/v1/facilities/{facility.id}", json=json_data(world, active=False, **changes)
        )
        assert response.status_code == 200
        assert response.get_json()["name"] == "马营镇中心敬老院"

    updated = reload(facility)
    assert updated.name == "马营镇中心敬老院"
    assert (updated.kind, updated.ownership) == ("nursing_home", "private")
    assert updated.region_id == world.village_a.id
    assert updated.licence_no == "新证号"
    assert updated.active is False
    [entry] = audit("facility.updated", facility.id)
    assert entry.actor_id == staff.id
    assert entry.changes["name"] == ["马营镇敬老院", "马营镇中心敬老院"]
    assert entry.changes["kind"] == ["township_home", "nursing_home"]
    assert entry.changes["active"] == [True, False]
    assert "description" in entry.changes


@pytest.mark.parametrize("via", ["form", "api"])
def test_county_staff_cannot_move_a_facility_out_of_the_county(client, auth, world, via):
    auth.login_as(world.user("county_staff"))
    facility = world.facility_a
    if via == "form":
        response = client.post(
            f"/facilities/{facility.id}/edit",
            data=form_data(world, region_id=str(world.township_b.id)),
        )
    else:
        response = client.put(
            f"/api/v1/facilities/{facility.id}",
            json=json_data(world, region_id=world.township_b.id),
        )
    assert response.status_code == 422
    assert "region_id" in error_fields(response, via)
    updated = reload(facility)
    assert updated.region_id == world.township_a.id
    assert updated.name == "马营镇敬老院"
    assert audit("facility.updated") == []


@pytest.mark.parametrize("role", ["county_staff", "township_staff", "operator"])
def test_facility_of_another_county_is_not_found(client, auth, world, role):
    auth.login_as(world.user(role))
    facility = world.facility_b
    for method, url, kwargs in (
        ("GET", f"/facilities/{facility.id}", {}),
        ("GET", f"/api/v1/facilities/{facility.id}", {}),
    ):
        assert client.open(url, method=method, **kwargs).status_code == 404, url
    if role != "township_staff":
        assert client.get(f"/facilities/{facility.id}/edit").status_code == 404
        assert (
            client.post(f"/facilities/{facility.id}/edit", data=form_data(world)).status_code == 404
        )
        assert (
            client.put(f"/api/v1/facilities/{facility.id}", json=json_data(world)).status_code
            == 404
        )
    assert reload(facility).name == "阳平养老院"
    assert audit("facility.updated") == []


# --- operators ------------------------------------------------------------------------------


def operator_form_page(client, facility) -> str:
    response = client.get(f"/facilities/{facility.id}/edit")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_operator_edits_contact_and_description_by_form(client, auth, world):
    operator = auth.login_as(world.user("operator"))
    facility = world.facility_a
    page = operator_form_page(client, facility)
    assert 'id="f-kind"' not in page and 'id="f-region_id"' not in page
    assert 'id="f-licence_no"' not in page and 'id="f-active"' not in page

    # What the browser sends: the hidden locked fields plus the edited ones.
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    data = {
        **hidden,
        "name": facility.name,
        "contact_name": "新联系人",
        "contact_phone": "13900001234",
        "description": "新增助浴服务。",
    }
    response = client.post(f"/facilities/{facility.id}/edit", data=data)
    assert response.status_code == 302

    updated = reload(facility)
    assert (updated.contact_name, updated.contact_phone) == ("新联系人", "13900001234")
    assert updated.description == "新增助浴服务。"
    assert (updated.kind, updated.ownership, updated.region_id, updated.active) == (
        "township_home",
        "public",
        world.township_a.id,
        True,
    )
    [entry] = audit("facility.updated", facility.id)
    assert entry.actor_id == operator.id
    assert set(entry.changes) == {"contact_name", "contact_phone", "description"}


@pytest.mark.parametrize("via", ["form", "api"])
def test_operator_cannot_change_locked_fields_even_by_posting_them(
    client, auth, world, make_region, via
):
    facility = world.facility_a
    facility.licence_no = "原证号"
    db.session.flush()
    auth.login_as(world.user("operator"))
    other_township = make_region("610302007000", "神农镇")
    locked = {"kind": "nursing_home", "ownership": "private", "licence_no": "伪造证号"}
    if via == "form":
        response = client.post(
            f"/facilities/{facility.id}/edit",
            data=form_data(
                world,
                region_id=str(other_township.id),
                active=None,
                contact_phone="13900001234",
                **locked,
            ),
        )
        assert response.status_code == 302
    else:
        response = client.put(
            f"/api/v1/facilities/{facility.id}",
            json=json_data(
                world,
                region_id=world.township_b.id,
                active=False,
                contact_phone="13900001234",
                **locked,
            ),
        )
        assert response.status_code == 200
        body = response.get_json()
        assert (body["kind"], body["active"]) == ("township_home", True)

    updated = reload(facility)
    assert updated.contact_phone == "13900001234"
    assert updated.kind == "township_home"
    assert updated.ownership == "public"
    assert updated.region_id == world.township_a.id
    assert updated.licence_no == "原证号"
    assert updated.active is True
    [entry] = audit("facility.updated", facility.id)
    assert not {"kind", "ownership", "region_id", "licence_no", "active"} & set(entry.changes)


def test_operator_of_a_closed_facility_cannot_reopen_it(client, auth, world):
    facility = world.facility_a
    facility.active = False
    db.session.flush()
    auth.login_as(world.user("operator"))
    response = client.put(
        f"/api/v1/facilities/{facility.id}", json=json_data(world, active=True, name=facility.name)
    )
    assert response.status_code == 200
    assert reload(facility).active is False


def test_operator_cannot_create_or_edit_another_facility(client, auth, world, make_facility):
    auth.login_as(world.user("operator"))
    neighbour = make_facility(world.township_a, name="隔壁日间照料中心", kind="day_care")
    before = facilities_count()
    assert client.get("/facilities/new").status_code == 403
    assert create(client, world, "form").status_code == 403
    assert create(client, world, "api").status_code == 403
    assert facilities_count() == before
    assert client.get(f"/facilities/{neighbour.id}/edit").status_code == 404
    assert (
        client.put(f"/api/v1/facilities/{neighbour.id}", json=json_data(world)).status_code == 404
    )
    assert reload(neighbour).name == "隔壁日间照料中心"


def test_operator_sees_only_their_facility(client, auth, world, make_facility):
    auth.login_as(world.user("operator"))
    make_facility(world.township_a, name="隔壁日间照料中心", kind="day_care")
    listed = client.get("/api/v1/facilities/").get_json()
    assert [f["id"] for f in listed] == [world.facility_a.id]
    page = client.get("/facilities/").get_data(as_text=True)
    assert "马营镇敬老院" in page and "隔壁日间照料中心" not in page


# --- township staff -------------------------------------------------------------------------


def test_township_staff_only_view(client, auth, world):
    auth.login_as(world.user("township_staff"))
    facility = world.facility_a
    assert client.get("/facilities/").status_code == 200
    show = client.get(f"/facilities/{facility.id}")
    assert show.status_code == 200
    assert f"/facilities/{facility.id}/edit" not in show.get_data(as_text=True)
    assert "/facilities/new" not in client.get("/facilities/").get_data(as_text=True)
    assert client.get(f"/api/v1/facilities/{facility.id}").status_code == 200

    before = facilities_count()
    assert client.get("/facilities/new").status_code == 403
    assert create(client, world, "form").status_code == 403
    assert create(client, world, "api").status_code == 403
    assert client.get(f"/facilities/{facility.id}/edit").status_code == 403
    assert client.post(f"/facilities/{facility.id}/edit", data=form_data(world)).status_code == 403
    assert client.put(f"/api/v1/facilities/{facility.id}", json=json_data(world)).status_code == 403
    assert facilities_count() == before
    assert reload(facility).name == "马营镇敬老院"
    assert audit("facility.updated") == [] and audit("facility.created") == []


@pytest.mark.parametrize("role", ["visitor", "family"])
def test_other_roles_see_no_facility_registry(client, auth, world, role):
    auth.login_as(world.user(role))
    assert client.get("/facilities/").status_code == 403
    assert client.get("/api/v1/facilities/").status_code == 403
    assert client.get(f"/api/v1/facilities/{world.facility_a.id}").status_code == 403


# --- lists ----------------------------------------------------------------------------------


@pytest.fixture
def facilities(world, make_facility, make_region):
    township2 = make_region("610302007000", "神农镇")
    return {
        "a": world.facility_a,
        "b": world.facility_b,
        "day_care": make_facility(world.village_a, name="马营东村日间照料中心", kind="day_care"),
        "township2": make_facility(township2, name="神农镇养老院"),
        "underscore": make_facility(township2, name="康_乐园"),
        "percent": make_facility(township2, name="百分百%养老"),
        "b_day_care": make_facility(world.village_b, name="阳平日间照料中心", kind="day_care"),
        "township2_region": township2,
    }


def api_ids(client, query: str = "") -> set[int]:
    response = client.get(f"/api/v1/facilities/?{query}")
    assert response.status_code == 200, response.get_json()
    return {f["id"] for f in response.get_json()}


def ids(facilities, *keys) -> set[int]:
    return {facilities[k].id for k in keys}


def test_api_list_is_scoped(client, auth, world, facilities):
    auth.login_as(world.user("county_staff"))
    assert api_ids(client) == ids(facilities, "a", "day_care", "township2", "underscore", "percent")
    auth.login_as(world.user("township_staff"))
    assert api_ids(client) == ids(facilities, "a", "day_care")
    auth.login_as(world.user("admin"))
    assert ids(facilities, "b", "b_day_care") <= api_ids(client)


def test_html_list_is_scoped(client, auth, world, facilities):
    auth.login_as(world.user("county_staff"))
    page = client.get("/facilities/").get_data(as_text=True)
    assert "马营镇敬老院" in page and "神农镇养老院" in page
    assert "阳平养老院" not in page and "阳平日间照料中心" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=日间", ("day_care",)),
        ("q=_", ("underscore",)),
        ("q=%25", ("percent",)),
        ("q=康_乐", ("underscore",)),
        ("kind=day_care", ("day_care",)),
        ("kind=nursing_home", ("township2", "underscore", "percent")),
        ("region_id={township2}", ("township2", "underscore", "percent")),
        ("region_id={village_a}", ("day_care",)),
        ("region_id={township_b}", ()),
        ("kind=day_care&region_id={county_b}", ()),
    ],
)
def test_list_filters_stay_in_scope(client, auth, world, facilities, query, expected):
    auth.login_as(world.user("county_staff"))
    query = query.format(
        township2=facilities["township2_region"].id,
        village_a=world.village_a.id,
        township_b=world.township_b.id,
        county_b=world.county_b.id,
    )
    assert api_ids(client, query) == ids(facilities, *expected)


def test_invalid_list_arguments(client, auth, world, facilities):
    auth.login_as(world.user("county_staff"))
    assert client.get("/api/v1/facilities/?kind=hotel").status_code == 422
    assert client.get("/api/v1/facilities/?per_page=0").status_code == 422
    page = client.get("/facilities/?kind=hotel")  # the page ignores bad filters, in scope
    assert page.status_code == 200
    assert "阳平养老院" not in page.get_data(as_text=True)


@pytest.mark.parametrize("region_id", [2**31, -(2**63) - 1, 0])
def test_region_ids_out_of_range_are_invalid_not_errors(client, auth, world, region_id):
    auth.login_as(world.user("county_staff"))
    listed = client.get(f"/api/v1/facilities/?region_id={region_id}")
    assert listed.status_code == 422
    assert "region_id" in listed.get_json()["errors"]
    before = facilities_count()
    created = create(client, world, "api", region_id=region_id)
    assert created.status_code == 422
    assert "region_id" in created.get_json()["errors"]
    assert create(client, world, "form", region_id=str(region_id)).status_code == 422
    assert facilities_count() == before
    assert client.get(f"/api/v1/facilities/{2**63}").status_code == 404


def test_absurd_coordinates_are_refused_not_a_crash(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.put(
        f"/api/v1/facilities/{world.facility_a.id}",
        json={
            "name": "马营镇敬老院",
            "kind": "township_home",
            "ownership": "public",
            "region_id": world.township_a.id,
            "longitude": -1e22,
        },
    )
    assert response.status_code == 422
    assert "longitude" in response.json["errors"]
