"""The operator API of beds: listing, the actions on one bed, and the bulk update."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.operations import create_token
from eldercare.beds import operations as ops
from eldercare.beds.models import Bed, Outage, Stay
from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from tests.builders import LOW_RISKS, build_bed, build_person, build_room

URL = "/api/v1/beds"


@pytest.fixture
def api(client, world):
    """Calls the API with a bearer token of the given role (the operator of facility A)."""

    class Api:
        def __init__(self):
            self.role = "operator"
            self._headers = {}

        def as_(self, role):
            if role not in self._headers:
                secret = create_token(world.user(role), "test", 1)[1]
                self._headers[role] = {"Authorization": f"Bearer {secret}"}
            self.role = role
            return self

        def __getattr__(self, method):
            def call(path, **kw):
                headers = self.as_(self.role)._headers[self.role]
                return getattr(client, method)(URL + path, headers=headers, **kw)

            return call

    return Api().as_("operator")


def today() -> date:
    return ops.local_today()


def vacant(facility, **kw) -> Bed:
    return build_bed(build_room(facility), **kw)


def admit(world, bed, on=None, person=None) -> Stay:
    person = person or build_person(world.village_a)
    return ops.admit(bed, person, on or today(), LOW_RISKS, world.user("admin"))


def admission(person, on=None) -> dict:
    return {
        "id_number": person.id_number,
        "name": person.name,
        "admitted_on": (on or today()).isoformat(),
        "risks": LOW_RISKS,
    }


def fresh(bed: Bed) -> Bed:
    db.session.expire_all()
    return db.session.get(Bed, bed.id)


# --- reading ----------------------------------------------------------------------------


def test_list_filters_and_pages_a_facilitys_beds(api, world):
    upstairs = build_room(world.facility_a, floor=2)
    nursing = build_bed(upstairs, care_type="nursing")
    build_bed(upstairs, care_type="dementia")
    admit(world, vacant(world.facility_a, care_type="nursing"))
    vacant(world.facility_b)

    everything = api.get(f"/?facility_id={world.facility_a.id}")
    assert everything.status_code == 200
    assert len(everything.json) == 3
    assert json.loads(everything.headers["X-Pagination"])["total"] == 3

    found = api.get(
        f"/?facility_id={world.facility_a.id}&floor=2&care_type=nursing&status=vacant"
    ).json
    assert [b["id"] for b in found] == [nursing.id]
    assert found[0]["monthly_price"] == "2500.00"
    assert found[0]["room"] == upstairs.title
    page = api.get(f"/?facility_id={world.facility_a.id}&per_page=2&page=2").json
    assert len(page) == 1


def test_staff_of_the_area_read_the_list(api, world):
    vacant(world.facility_a)
    for role in ("county_staff", "township_staff", "admin"):
        response = api.as_(role).get(f"/?facility_id={world.facility_a.id}")
        assert response.status_code == 200, role
        assert len(response.json) == 1


def test_a_facility_out_of_scope_is_not_found_rather_than_empty(api, world):
    vacant(world.facility_b)
    response = api.get(f"/?facility_id={world.facility_b.id}")
    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    assert api.get("/?facility_id=999999").status_code == 404


def test_list_needs_a_facility_and_valid_filters(api, world):
    response = api.get("/?status=broken")
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"facility_id", "status"}


def test_one_bed_shows_its_current_stay(api, world):
    bed = vacant(world.facility_a)
    assert api.get(f"/{bed.id}").json["stay"] is None
    stay = admit(world, bed)
    body = api.get(f"/{bed.id}").json
    assert body["bed"]["status"] == "occupied"
    assert body["stay"]["id"] == stay.id
    assert body["stay"]["person_name"] == stay.person.name
    assert "*" in body["stay"]["person_id_number_masked"]


def test_another_facilitys_bed_is_not_found(api, world):
    other = vacant(world.facility_b)
    assert api.get(f"/{other.id}").status_code == 404
    assert api.post(f"/{other.id}/admit", json=admission(world.person_a)).status_code == 404


# --- acting on one bed -------------------------------------------------------------------


def test_update_care_type_and_price(api, world):
    bed = vacant(world.facility_a)
    response = api.patch(f"/{bed.id}", json={"care_type": "dementia", "monthly_price": "3100.5"})
    assert response.status_code == 200
    assert response.json["care_type"] == "dementia"
    assert response.json["monthly_price"] == "3100.50"
    assert fresh(bed).monthly_price_fen == 310050


def test_update_refuses_a_bad_price(api, world):
    bed = vacant(world.facility_a)
    response = api.patch(f"/{bed.id}", json={"monthly_price": "-1", "care_type": "luxury"})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"monthly_price", "care_type"}


@pytest.mark.parametrize("role", ["county_staff", "township_staff"])
def test_staff_read_but_cannot_act(api, world, role):
    bed = vacant(world.facility_a)
    response = api.as_(role).patch(f"/{bed.id}", json={"care_type": "dementia"})
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"
    assert api.as_(role).post(f"/{bed.id}/admit", json=admission(world.person_a)).status_code == 403


def test_admit_a_registered_person(api, world):
    bed = vacant(world.facility_a)
    response = api.post(f"/{bed.id}/admit", json=admission(world.person_a))
    assert response.status_code == 201
    assert response.json["person_id"] == world.person_a.id
    assert fresh(bed).status == "occupied"
    assert ops.open_stay(bed.id).person_id == world.person_a.id


def test_admit_needs_the_registrys_name_for_the_id_number(api, world):
    bed = vacant(world.facility_a)
    body = admission(world.person_a) | {"name": "别人"}
    response = api.post(f"/{bed.id}/admit", json=body)
    assert response.status_code == 422
    assert "id_number" in response.json["errors"]
    assert ops.open_stay(bed.id) is None


def test_admit_validates_the_assessment_and_date(api, world):
    bed = vacant(world.facility_a)
    body = admission(world.person_a) | {"risks": {"choking": "extreme"}, "admitted_on": "soon"}
    response = api.post(f"/{bed.id}/admit", json=body)
    assert response.status_code == 422
    assert {"risks", "admitted_on"} <= set(response.json["errors"])
    incomplete = admission(world.person_a) | {"risks": {"choking": "low"}}
    response = api.post(f"/{bed.id}/admit", json=incomplete)
    assert response.status_code == 422
    assert "risks" in response.json["errors"]


def test_admit_into_an_occupied_bed_is_a_conflict(api, world):
    bed = vacant(world.facility_a)
    admit(world, bed)
    response = api.post(f"/{bed.id}/admit", json=admission(world.person_a))
    assert response.status_code == 409
    assert response.json["code"] == "conflict"
    assert bed.code in response.json["message"]


def test_a_person_in_one_bed_cannot_be_admitted_to_another(api, world):
    admit(world, vacant(world.facility_a), person=world.person_a)
    response = api.post(f"/{vacant(world.facility_a).id}/admit", json=admission(world.person_a))
    assert response.status_code == 409


def test_a_back_dated_admission_overlapping_an_earlier_stay_is_refused(api, world):
    bed = vacant(world.facility_a)
    start = today() - timedelta(days=30)
    stay = admit(world, bed, on=start)
    ops.discharge(stay, start + timedelta(days=10), "home", world.user("admin"))
    response = api.post(f"/{bed.id}/admit", json=admission(world.person_a, start + timedelta(5)))
    assert response.status_code == 409
    assert ops.open_stay(bed.id) is None
    after = api.post(f"/{bed.id}/admit", json=admission(world.person_a, start + timedelta(10)))
    assert after.status_code == 201


def test_discharge(api, world):
    bed = vacant(world.facility_a)
    stay = admit(world, bed)
    body = {"discharged_on": today().isoformat(), "reason": "home"}
    response = api.post(f"/{bed.id}/discharge", json=body)
    assert response.status_code == 200
    assert response.json["id"] == stay.id
    assert response.json["discharge_reason"] == "home"
    assert fresh(bed).status == "vacant"


def test_discharge_from_an_empty_bed_is_a_conflict(api, world):
    bed = vacant(world.facility_a)
    body = {"discharged_on": today().isoformat(), "reason": "home"}
    response = api.post(f"/{bed.id}/discharge", json=body)
    assert response.status_code == 409
    assert response.json["message"]


def test_discharge_validates(api, world):
    bed = vacant(world.facility_a)
    admit(world, bed)
    response = api.post(f"/{bed.id}/discharge", json={"reason": "transfer"})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"discharged_on", "reason"}


def test_transfer(api, world):
    source, target = vacant(world.facility_a), vacant(world.facility_a)
    stay = admit(world, source)
    response = api.post(f"/{source.id}/transfer", json={"bed_id": target.id, "on": str(today())})
    assert response.status_code == 201
    assert response.json["bed_id"] == target.id
    assert response.json["previous_stay_id"] == stay.id
    assert (fresh(source).status, fresh(target).status) == ("vacant", "occupied")


def test_transfer_to_an_occupied_bed_is_a_conflict(api, world):
    source, target = vacant(world.facility_a), vacant(world.facility_a)
    admit(world, source)
    admit(world, target)
    response = api.post(f"/{source.id}/transfer", json={"bed_id": target.id, "on": str(today())})
    assert response.status_code == 409


def test_transfer_to_a_bed_out_of_scope_is_invalid(api, world):
    source = vacant(world.facility_a)
    admit(world, source)
    other = vacant(world.facility_b)
    response = api.post(f"/{source.id}/transfer", json={"bed_id": other.id, "on": str(today())})
    assert response.status_code == 422
    assert "bed_id" in response.json["errors"]


def test_leave_and_return(api, world):
    bed = vacant(world.facility_a)
    admit(world, bed)
    response = api.post(f"/{bed.id}/leave", json={"start_on": str(today()), "reason": "回家过年"})
    assert response.status_code == 201
    assert fresh(bed).status == "held"
    assert api.post(f"/{bed.id}/leave", json={"start_on": str(today())}).status_code == 409
    response = api.post(f"/{bed.id}/leave/end", json={"end_on": str(today())})
    assert response.status_code == 200
    assert response.json["end_on"] == str(today())
    assert fresh(bed).status == "occupied"
    assert api.post(f"/{bed.id}/leave/end", json={"end_on": str(today())}).status_code == 409
    assert api.post(f"/{bed.id}/leave", json={}).status_code == 422


def test_reserve_and_release(api, world):
    bed = vacant(world.facility_a)
    expires = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    response = api.post(f"/{bed.id}/reserve", json={"holder_name": "王大爷", "expires_at": expires})
    assert response.status_code == 201
    assert fresh(bed).status == "reserved"
    again = api.post(f"/{bed.id}/reserve", json={"holder_name": "李大妈", "expires_at": expires})
    assert again.status_code == 409
    assert api.delete(f"/{bed.id}/reservation").status_code == 204
    assert fresh(bed).status == "vacant"
    assert api.delete(f"/{bed.id}/reservation").status_code == 409
    past = api.post(
        f"/{bed.id}/reserve", json={"holder_name": "王", "expires_at": "2020-01-01T00:00"}
    )
    assert past.status_code == 422
    assert "expires_at" in past.json["errors"]


def test_out_of_service_and_back(api, world):
    bed = vacant(world.facility_a)
    response = api.post(
        f"/{bed.id}/out-of-service", json={"reason": "维修", "start_on": str(today())}
    )
    assert response.status_code == 201
    assert fresh(bed).status == "out_of_service"
    response = api.post(f"/{bed.id}/back-in-service", json={"on": str(today())})
    assert response.status_code == 200
    assert fresh(bed).status == "vacant"
    assert api.post(f"/{bed.id}/back-in-service", json={"on": str(today())}).status_code == 409
    assert api.post(f"/{bed.id}/out-of-service", json={"reason": ""}).status_code == 422


def test_an_occupied_bed_cannot_go_out_of_service(api, world):
    bed = vacant(world.facility_a)
    admit(world, bed)
    body = {"reason": "维修", "start_on": str(today())}
    assert api.post(f"/{bed.id}/out-of-service", json=body).status_code == 409


# --- bulk -----------------------------------------------------------------------------------


def beds_of(facility, n: int) -> list[Bed]:
    room = build_room(facility)
    beds = [
        Bed(
            code=ops.new_bed_code(facility.id),
            facility_id=facility.id,
            room_id=room.id,
            label=str(i),
            care_type="general",
            monthly_price_fen=150000,
        )
        for i in range(n)
    ]
    db.session.add_all(beds)
    db.session.flush()
    return beds


def test_bulk_applies_every_item(api, world):
    a, b, c = beds_of(world.facility_a, 3)
    items = [
        {"bed_id": a.id, "care_type": "nursing", "monthly_price": "2800"},
        {"bed_id": b.id, "status": "out_of_service", "reason": "消毒"},
        {"bed_id": c.id, "monthly_price": "1999.99"},
    ]
    response = api.post("/bulk", json={"items": items})
    assert response.status_code == 200, response.json
    out = {bed["id"]: bed for bed in response.json["beds"]}
    assert out[a.id]["care_type"] == "nursing"
    assert out[a.id]["monthly_price"] == "2800.00"
    assert out[b.id]["status"] == "out_of_service"
    assert out[c.id]["monthly_price"] == "1999.99"
    outage = db.session.scalar(sa.select(Outage).where(Outage.bed_id == b.id))
    assert (outage.reason, outage.start_on, outage.end_on) == ("消毒", today(), None)
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(
            AuditLog.entity_type == "Bed", AuditLog.entity_id.in_([a.id, b.id, c.id])
        )
    ).all()
    assert sorted(actions) == ["bed.out_of_service", "bed.updated", "bed.updated"]

    back = api.post("/bulk", json={"items": [{"bed_id": b.id, "status": "in_service"}]})
    assert back.status_code == 200
    assert back.json["beds"][0]["status"] == "vacant"


def test_bulk_with_one_bad_item_changes_nothing(api, world):
    beds = beds_of(world.facility_a, 5)
    items = [{"bed_id": bed.id, "monthly_price": "2000"} for bed in beds]
    items[3]["monthly_price"] = "-5"
    response = api.post("/bulk", json={"items": items})
    assert response.status_code == 422
    assert list(response.json["errors"]["items"]) == ["3"]
    assert "monthly_price" in response.json["errors"]["items"]["3"]
    db.session.expire_all()
    assert {db.session.get(Bed, bed.id).monthly_price_fen for bed in beds} == {150000}


def test_bulk_item_rules(api, world):
    a, b, c, d = beds_of(world.facility_a, 4)
    items = [
        {"bed_id": a.id},
        {"bed_id": b.id, "status": "out_of_service"},
        {"bed_id": c.id, "care_type": "general", "reason": "why"},
        {"bed_id": d.id, "care_type": "general"},
        {"bed_id": d.id, "monthly_price": "1500"},
    ]
    errors = api.post("/bulk", json={"items": items}).json["errors"]["items"]
    assert set(errors) == {"0", "1", "2"}
    assert "reason" in errors["1"] and "reason" in errors["2"]
    duplicate = api.post("/bulk", json={"items": items[3:]})
    assert duplicate.status_code == 422
    assert duplicate.json["errors"]["items"] == {
        "1": {"bed_id": [duplicate.json["errors"]["items"]["1"]["bed_id"][0]]}
    }


def test_bulk_refuses_beds_out_of_scope_and_conflicts_by_index(api, world):
    mine, occupied = beds_of(world.facility_a, 2)
    admit(world, occupied)
    other = vacant(world.facility_b)
    response = api.post(
        "/bulk",
        json={
            "items": [
                {"bed_id": mine.id, "monthly_price": "1500"},
                {"bed_id": other.id, "monthly_price": "1500"},
            ]
        },
    )
    assert response.status_code == 422
    assert set(response.json["errors"]["items"]) == {"1"}
    assert "bed_id" in response.json["errors"]["items"]["1"]
    response = api.post(
        "/bulk",
        json={
            "items": [
                {"bed_id": mine.id, "monthly_price": "1500"},
                {"bed_id": occupied.id, "status": "out_of_service", "reason": "维修"},
            ]
        },
    )
    assert response.status_code == 409
    assert set(response.json["errors"]["items"]) == {"1"}
    assert fresh(mine).monthly_price_fen == 150000
    assert fresh(occupied).status == "occupied"


def test_bulk_is_for_the_facilitys_operators(api, world):
    bed = vacant(world.facility_a)
    body = {"items": [{"bed_id": bed.id, "monthly_price": "1500"}]}
    assert api.as_("county_staff").post("/bulk", json=body).status_code == 403


def test_bulk_takes_at_most_a_thousand_items(api, world):
    body = {"items": [{"bed_id": i + 1, "monthly_price": "1500"} for i in range(1001)]}
    response = api.post("/bulk", json=body)
    assert response.status_code == 422
    assert "items" in response.json["errors"]
    assert api.post("/bulk", json={"items": []}).status_code == 422
    assert api.post("/bulk", json={}).status_code == 422


def test_bulk_of_a_thousand_beds(api, world):
    beds = beds_of(world.facility_a, 1000)
    items = [
        {"bed_id": bed.id, "monthly_price": "2100", "care_type": "nursing"}
        if i % 2
        else {"bed_id": bed.id, "status": "out_of_service", "reason": "整修", "on": str(today())}
        for i, bed in enumerate(beds)
    ]
    started = time.perf_counter()
    response = api.post("/bulk", json={"items": items})
    elapsed = time.perf_counter() - started
    print(f"\nbulk update of 1,000 beds: {elapsed * 1000:.0f} ms ({db.engine.dialect.name})")
    assert response.status_code == 200
    assert len(response.json["beds"]) == 1000
    statuses = db.session.execute(
        sa.select(Bed.status, sa.func.count())
        .where(Bed.facility_id == world.facility_a.id)
        .group_by(Bed.status)
    ).all()
    assert dict(statuses) == {"out_of_service": 500, "vacant": 500}
