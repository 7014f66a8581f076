"""The elderly registry: registering, validating ID numbers, masking, revealing, scope,
corrections, deaths, assessments and list filters, through the HTML pages and the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare.core import crypto, resident_id
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person, id_number_index
from eldercare.people.operations import find_by_id_number
from tests.builders import new_id_number
from tests.people.helpers import (
    ID_PATTERN,
    audit_entries,
    has_chinese,
    id_ending_in_x,
    invalid_fields,
    invalid_ids,
    row_counts,
    tomorrow,
    years_ago,
)

INVALID = invalid_ids()


def person_form(world, **overrides) -> dict:
    data = {
        "name": "王建国",
        "id_number": new_id_number(born=date(1946, 8, 9), sex="M"),
        "region_id": str(world.village_a.id),
        "phone": "13800138000",
        "address": "马营东村3组",
        "hukou_type": "local",
        "economic_status": "dibao",
        "lives_alone": "1",
        "left_behind": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def person_json(world, **overrides) -> dict:
    data = {
        "name": "王建国",
        "id_number": new_id_number(born=date(1946, 8, 9), sex="M"),
        "region_id": world.village_a.id,
        "phone": "13800138000",
        "economic_status": "dibao",
        "lives_alone": True,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def stored_person(number: str) -> Person | None:
    db.session.expire_all()
    return find_by_id_number(number)


def register(client, world, via: str, **overrides):
    if via == "form":
        return client.post("/people/new", data=person_form(world, **overrides))
    return client.post("/api/v1/people/", json=person_json(world, **overrides))


def error_fields(response, via: str) -> set[str]:
    if via == "form":
        return invalid_fields(response.get_data(as_text=True))
    return set(response.get_json()["errors"])


# --- registering ---------------------------------------------------------------------------


def test_register_through_the_form(client, auth, world):
    staff = auth.login_as(world.user("township_staff"))
    form = person_form(world)
    response = client.post("/people/new", data=form)

    assert response.status_code == 302
    person = stored_person(form["id_number"])
    assert person is not None
    assert response.headers["Location"].endswith(f"/people/{person.id}")
    assert person.name == "王建国"
    assert person.birth_date == date(1946, 8, 9)
    assert person.sex == "M"
    assert person.region_id == world.village_a.id
    assert person.economic_status == "dibao"
    assert (person.lives_alone, person.left_behind, person.empty_nest) == (True, True, False)
    assert person.id_number_masked == form["id_number"][:3] + "*" * 14 + form["id_number"][-1:]

    [entry] = audit_entries("person.registered", person.id)
    assert entry.actor_id == staff.id
    assert entry.region_id == world.village_a.id
    assert entry.changes["id_number"] == [None, person.id_number_masked]
    assert form["id_number"] not in str(entry.changes)
    assert "13800138000" not in str(entry.changes)


def test_register_through_the_api(client, auth, world):
    auth.login_as(world.user("county_staff"))
    body = person_json(world)
    response = client.post("/api/v1/people/", json=body)

    assert response.status_code == 201
    data = response.get_json()
    assert data["name"] == "王建国"
    assert data["birth_date"] == "1946-08-09"
    assert data["sex"] == "M"
    assert data["economic_status"] == "dibao"
    assert data["lives_alone"] is True and data["empty_nest"] is False
    assert data["id_number_masked"] == body["id_number"][:3] + "*" * 14 + body["id_number"][-1:]
    assert "id_number" not in data
    assert body["id_number"] not in response.get_data(as_text=True)
    person = stored_person(body["id_number"])
    assert person is not None and person.id == data["id"]
    assert len(audit_entries("person.registered", person.id)) == 1


def test_id_number_is_encrypted_at_rest(client, auth, world):
    auth.login_as(world.user("county_staff"))
    body = person_json(world)
    assert client.post("/api/v1/people/", json=body).status_code == 201
    person = stored_person(body["id_number"])

    raw = db.session.execute(
        sa.text("SELECT id_number, id_number_index FROM person WHERE id = :id"), {"id": person.id}
    ).one()
    assert body["id_number"] not in raw.id_number
    assert body["id_number"][6:14] not in raw.id_number
    assert crypto.decrypt(raw.id_number) == body["id_number"]
    assert raw.id_number_index == id_number_index(body["id_number"])
    assert body["id_number"] not in raw.id_number_index


def test_a_superseded_county_code_is_accepted(client, auth, world):
    """凤翔县 610322 became 凤翔区 610305 in 2021; IDs issued before keep the old code."""
    auth.login_as(world.user("county_staff"))
    number = new_id_number(area="610322", born=date(1940, 1, 2), sex="F")
    response = client.post("/api/v1/people/", json=person_json(world, id_number=number))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["sex"] == "F"


def test_lower_case_x_is_the_same_number(client, auth, world):
    auth.login_as(world.user("county_staff"))
    number = id_ending_in_x()
    response = client.post("/api/v1/people/", json=person_json(world, id_number=number.lower()))
    assert response.status_code == 201
    assert stored_person(number) is not None

    again = client.post("/api/v1/people/", json=person_json(world, id_number=number))
    assert again.status_code == 409


@pytest.mark.parametrize("via", ["form", "api"])
@pytest.mark.parametrize("reason", sorted(INVALID))
def test_invalid_id_number_is_refused_and_nothing_written(client, auth, world, via, reason):
    auth.login_as(world.user("county_staff"))
    before = row_counts()

    # Read now, not at import: the future birth date is next year's.
    response = register(client, world, via, id_number=invalid_ids()[reason])

    assert response.status_code == 422
    assert "id_number" in error_fields(response, via)
    if via == "api":
        body = response.get_json()
        assert body["code"] == "invalid_input"
        assert all(m.strip() for m in body["errors"]["id_number"])
    assert row_counts() == before


def test_invalid_id_message_is_in_chinese_by_default(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = register(client, world, "api", id_number=INVALID["bad_check_digit"])
    assert response.status_code == 422
    [message] = response.get_json()["errors"]["id_number"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message

    page = register(client, world, "form", id_number=INVALID["impossible_date"])
    assert page.status_code == 422
    assert has_chinese(page.get_data(as_text=True))


@pytest.mark.parametrize("via", ["form", "api"])
def test_birth_date_and_sex_that_contradict_the_id_are_refused(client, auth, world, via):
    auth.login_as(world.user("county_staff"))
    number = new_id_number(born=date(1946, 8, 9), sex="M")
    before = row_counts()

    response = register(client, world, via, id_number=number, birth_date="1946-08-10", sex="F")

    assert response.status_code == 422
    assert {"birth_date", "sex"} <= error_fields(response, via)
    assert "id_number" not in error_fields(response, via)
    assert row_counts() == before


@pytest.mark.parametrize("via", ["form", "api"])
def test_birth_date_and_sex_that_agree_with_the_id_are_accepted(client, auth, world, via):
    auth.login_as(world.user("county_staff"))
    number = new_id_number(born=date(1946, 8, 9), sex="M")
    response = register(client, world, via, id_number=number, birth_date="1946-08-09", sex="M")
    assert response.status_code == {"api": 201, "form": 302}[via]
    assert stored_person(number) is not None


@pytest.mark.parametrize("via", ["form", "api"])
@pytest.mark.parametrize("where", ["same county", "another county"])
def test_duplicate_id_number_is_a_conflict(client, auth, world, via, where):
    auth.login_as(world.user("county_staff"))
    existing = world.person_a if where == "same county" else world.person_b
    before = row_counts()

    response = register(client, world, via, id_number=existing.id_number, name="另一个人")

    assert response.status_code == 409
    if via == "api":
        body = response.get_json()
        assert body["code"] == "conflict"
        assert "id_number" in body["errors"]
    else:
        assert "id_number" in invalid_fields(response.get_data(as_text=True))
    # Nothing is written but the audit entry of the refusal itself.
    assert row_counts() == {**before, "audit_log": before["audit_log"] + 1}
    db.session.expire_all()
    assert db.session.get(Person, existing.id).name == existing.name


@pytest.mark.parametrize("via", ["form", "api"])
def test_database_refuses_a_duplicate_that_slips_past_the_check(
    client, auth, world, monkeypatch, via
):
    """Two clerks registering the same person at once both pass the Python check; the unique
    blind index must refuse the second, as a 409 with nothing written."""
    monkeypatch.setattr("eldercare.people.operations._ensure_not_registered", lambda *a, **k: None)
    auth.login_as(world.user("county_staff"))
    before = row_counts()
    response = register(client, world, via, id_number=world.person_b.id_number)
    assert response.status_code == 409
    assert row_counts() == before


@pytest.mark.parametrize("via", ["form", "api"])
def test_township_staff_cannot_register_in_another_township(client, auth, world, make_region, via):
    auth.login_as(world.user("township_staff"))
    make_region("610302007000", "神农镇")
    other_village = make_region("610302007201", "神农村")
    before = row_counts()

    response = register(client, world, via, region_id=other_village.id)

    assert response.status_code == 422
    assert "region_id" in error_fields(response, via)
    assert row_counts() == before


@pytest.mark.parametrize("region", ["village_b", "county_a"])
def test_county_staff_register_only_in_townships_and_villages_of_their_county(
    client, auth, world, region
):
    auth.login_as(world.user("county_staff"))
    before = row_counts()
    response = register(client, world, "api", region_id=getattr(world, region).id)
    assert response.status_code == 422
    assert "region_id" in response.get_json()["errors"]
    assert row_counts() == before


def test_unknown_region_is_refused(client, auth, world):
    auth.login_as(world.user("admin"))
    response = register(client, world, "api", region_id=987654)
    assert response.status_code == 422
    assert "region_id" in response.get_json()["errors"]


# --- masking ---------------------------------------------------------------------------------


def test_list_and_api_show_only_masked_id_numbers(client, auth, world, make_person):
    auth.login_as(world.user("county_staff"))
    second = make_person(world.village_a, name="赵大爷", id_number=id_ending_in_x())
    full = {world.person_a.id_number, second.id_number}

    page = client.get("/people/").get_data(as_text=True)
    api = client.get("/api/v1/people/")
    assert api.status_code == 200
    for number in full:
        assert number not in page
        assert number not in api.get_data(as_text=True)
    assert world.person_a.id_number_masked in page
    assert second.id_number_masked in page
    assert not ID_PATTERN.search(page)
    rows = {p["id"]: p for p in api.get_json()}
    assert set(rows) == {world.person_a.id, second.id}
    assert rows[second.id]["id_number_masked"] == second.id_number_masked
    assert all("id_number" not in p for p in rows.values())


def test_person_page_and_api_show_only_the_masked_id(client, auth, world):
    auth.login_as(world.user("township_staff"))
    person = world.person_a
    for url in (f"/people/{person.id}", f"/people/{person.id}/edit", f"/api/v1/people/{person.id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert person.id_number not in text, url
        assert person.id_number_masked in text, url
    assert "id_number" not in client.get(f"/api/v1/people/{person.id}").get_json()


def test_lookup_by_full_id_number_answers_masked(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.post(
        "/api/v1/people/lookup", json={"id_number": world.person_a.id_number.lower()}
    )
    assert response.status_code == 200
    assert response.get_json()["id"] == world.person_a.id
    assert world.person_a.id_number not in response.get_data(as_text=True)

    elsewhere = client.post("/api/v1/people/lookup", json={"id_number": world.person_b.id_number})
    assert elsewhere.status_code == 404


# --- revealing the full number ------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "county_staff", "township_staff"])
def test_reveal_shows_the_number_and_is_audited_every_time(client, auth, world, role):
    user = auth.login_as(world.user(role))
    person = world.person_a

    first = client.post(f"/people/{person.id}/reveal-id")
    second = client.post(f"/api/v1/people/{person.id}/reveal-id")

    assert first.status_code == 200
    assert person.id_number in first.get_data(as_text=True)
    assert second.status_code == 200
    assert second.get_json() == {"id_number": person.id_number}
    entries = audit_entries("person.id_revealed", person.id)
    assert len(entries) == 2
    assert {e.actor_id for e in entries} == {user.id}
    assert all(e.entity_type == "Person" for e in entries)
    assert all(person.id_number not in str(e.changes) + e.note for e in entries)


def test_reveal_is_post_only(client, auth, world):
    auth.login_as(world.user("county_staff"))
    assert client.get(f"/people/{world.person_a.id}/reveal-id").status_code == 405
    assert audit_entries("person.id_revealed") == []


@pytest.mark.parametrize("role", ["visitor", "operator", "family"])
def test_reveal_is_refused_to_other_roles(client, auth, world, role):
    auth.login_as(world.user(role))
    person = world.person_a
    html = client.post(f"/people/{person.id}/reveal-id")
    api = client.post(f"/api/v1/people/{person.id}/reveal-id")
    assert html.status_code == 403
    assert api.status_code == 403
    assert person.id_number not in html.get_data(as_text=True) + api.get_data(as_text=True)
    assert audit_entries("person.id_revealed") == []


def test_reveal_is_rate_limited_per_account(client, auth, world, make_user):
    auth.login_as(world.user("county_staff"))
    api_url = f"/api/v1/people/{world.person_a.id}/reveal-id"
    page_url = f"/people/{world.person_a.id}/reveal-id"
    # The page and the API draw on one budget of 30 an hour.
    statuses = [client.post(page_url if i % 2 else api_url).status_code for i in range(30)]
    assert statuses == [200] * 30
    refused = [client.post(api_url), client.post(page_url)]
    assert [r.status_code for r in refused] == [429, 429]
    assert world.person_a.id_number not in "".join(r.get_data(as_text=True) for r in refused)
    assert len(audit_entries("person.id_revealed")) == 30

    # A colleague in the same office (same address) is not locked out.
    auth.login_as(make_user("county_staff", world.county_a))
    assert client.post(api_url).status_code == 200


# --- scope ----------------------------------------------------------------------------------


OUT_OF_SCOPE_CALLS = [
    ("GET", "/people/{id}"),
    ("GET", "/people/{id}/edit"),
    ("POST", "/people/{id}/edit"),
    ("POST", "/people/{id}/reveal-id"),
    ("POST", "/people/{id}/assessments"),
    ("GET", "/api/v1/people/{id}"),
    ("PUT", "/api/v1/people/{id}"),
    ("POST", "/api/v1/people/{id}/reveal-id"),
    ("GET", "/api/v1/people/{id}/assessments"),
    ("POST", "/api/v1/people/{id}/assessments"),
]


@pytest.mark.parametrize(("method", "url"), OUT_OF_SCOPE_CALLS)
@pytest.mark.parametrize("role", ["county_staff", "township_staff"])
def test_out_of_scope_person_is_not_found(client, auth, world, make_person, method, url, role):
    auth.login_as(world.user(role))
    if role == "township_staff":  # same county, another township
        person = make_person(_other_township_village(world))
    else:
        person = world.person_b
    before = row_counts()
    body = {
        "name": "改名",
        "region_id": world.village_a.id,
        "assessed_on": "2025-01-02",
        "level": "mild",
    }
    if url.startswith("/api/"):
        response = client.open(url.format(id=person.id), method=method, json=body)
    else:
        response = client.open(url.format(id=person.id), method=method, data=body)
    assert response.status_code == 404
    assert person.id_number not in response.get_data(as_text=True)
    assert row_counts() == before
    db.session.expire_all()
    assert db.session.get(Person, person.id).name == person.name


def _other_township_village(world):
    from tests.builders import build_region

    build_region("610302100000", "硖石镇")
    return build_region("610302100201", "硖石村")


def test_missing_person_is_not_found_like_out_of_scope(client, auth, world):
    auth.login_as(world.user("county_staff"))
    missing = client.get("/api/v1/people/999999")
    hidden = client.get(f"/api/v1/people/{world.person_b.id}")
    assert missing.status_code == hidden.status_code == 404
    assert missing.get_json() == hidden.get_json()


# --- corrections ----------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["form", "api"])
def test_corrected_id_number_re_derives_birth_date_and_sex(client, auth, world, via):
    auth.login_as(world.user("township_staff"))
    person = world.person_a
    old_number, old_masked = person.id_number, person.id_number_masked
    assert (person.birth_date, person.sex) == (date(1950, 3, 15), "F")
    corrected = new_id_number(born=date(1949, 11, 30), sex="M")

    if via == "form":
        response = client.post(
            f"/people/{person.id}/edit",
            data={"name": person.name, "id_number": corrected, "region_id": world.village_a.id},
        )
        assert response.status_code == 302
    else:
        response = client.put(
            f"/api/v1/people/{person.id}",
            json={"name": person.name, "id_number": corrected, "region_id": world.village_a.id},
        )
        assert response.status_code == 200
        assert response.get_json()["birth_date"] == "1949-11-30"
        assert response.get_json()["sex"] == "M"

    db.session.expire_all()
    updated = db.session.get(Person, person.id)
    assert updated.birth_date == date(1949, 11, 30)
    assert updated.sex == "M"
    assert updated.id_number == corrected
    assert updated.id_number_masked == corrected[:3] + "*" * 14 + corrected[-1:]
    assert find_by_id_number(corrected).id == person.id
    assert find_by_id_number(old_number) is None
    [entry] = audit_entries("person.updated", person.id)
    assert entry.changes["id_number"] == [old_masked, updated.id_number_masked]
    assert corrected not in str(entry.changes) and old_number not in str(entry.changes)


def test_update_without_id_number_keeps_it(client, auth, world):
    auth.login_as(world.user("county_staff"))
    person = world.person_a
    response = client.post(
        f"/people/{person.id}/edit",
        data={
            "name": "张秀英",
            "region_id": world.village_a.id,
            "empty_nest": "1",
            "economic_status": "low_income",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    updated = db.session.get(Person, person.id)
    assert updated.id_number == person.id_number
    assert updated.empty_nest is True
    assert updated.lives_alone is False
    assert updated.economic_status == "low_income"
    [entry] = audit_entries("person.updated", person.id)
    assert entry.changes["economic_status"] == ["none", "low_income"]
    assert "id_number" not in entry.changes


def test_correcting_to_a_registered_number_is_a_conflict(client, auth, world):
    auth.login_as(world.user("county_staff"))
    person = world.person_a
    for response in (
        client.post(
            f"/people/{person.id}/edit",
            data={
                "name": person.name,
                "id_number": world.person_b.id_number,
                "region_id": world.village_a.id,
            },
        ),
        client.put(
            f"/api/v1/people/{person.id}",
            json={
                "name": person.name,
                "id_number": world.person_b.id_number,
                "region_id": world.village_a.id,
            },
        ),
    ):
        assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(Person, person.id).id_number != world.person_b.id_number
    assert audit_entries("person.updated") == []


def test_correcting_with_an_invalid_number_is_refused(client, auth, world):
    auth.login_as(world.user("county_staff"))
    person = world.person_a
    response = client.put(
        f"/api/v1/people/{person.id}",
        json={
            "name": person.name,
            "id_number": INVALID["bad_check_digit"],
            "region_id": world.village_a.id,
        },
    )
    assert response.status_code == 422
    assert "id_number" in response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(Person, person.id).id_number == person.id_number


def test_township_staff_cannot_move_a_person_out_of_their_township(client, auth, world):
    auth.login_as(world.user("township_staff"))
    response = client.put(
        f"/api/v1/people/{world.person_a.id}",
        json={"name": world.person_a.name, "region_id": world.village_b.id},
    )
    assert response.status_code == 422
    assert "region_id" in response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(Person, world.person_a.id).region_id == world.village_a.id


# --- death ----------------------------------------------------------------------------------


def test_recorded_death_hides_the_person_from_the_default_list(client, auth, world):
    auth.login_as(world.user("county_staff"))
    person = world.person_a
    response = client.post(
        f"/people/{person.id}/edit",
        data={"name": person.name, "region_id": world.village_a.id, "death_date": "2025-12-01"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, person.id).death_date == date(2025, 12, 1)

    assert person.name not in client.get("/people/").get_data(as_text=True)
    assert [p["id"] for p in client.get("/api/v1/people/").get_json()] == []
    assert person.name in client.get("/people/?include_deceased=1").get_data(as_text=True)
    with_dead = client.get("/api/v1/people/?include_deceased=true").get_json()
    assert [p["id"] for p in with_dead] == [person.id]
    assert with_dead[0]["deceased"] is True
    detail = client.get(f"/api/v1/people/{person.id}").get_json()
    assert detail["death_date"] == "2025-12-01"
    # Still reachable directly, marked as deceased.
    assert client.get(f"/people/{person.id}").status_code == 200


@pytest.mark.parametrize("via", ["form", "api"])
@pytest.mark.parametrize("death", ["tomorrow", "1950-03-14"])
def test_impossible_death_date_is_refused_on_update(client, auth, world, via, death):
    """Future, or before the (stored) birth date 1950-03-15, with no new ID number given."""
    death = tomorrow().isoformat() if death == "tomorrow" else death
    auth.login_as(world.user("county_staff"))
    person = world.person_a
    data = {"name": person.name, "region_id": world.village_a.id, "death_date": death}
    if via == "form":
        response = client.post(f"/people/{person.id}/edit", data=data)
    else:
        response = client.put(f"/api/v1/people/{person.id}", json=data)
    assert response.status_code == 422
    assert "death_date" in error_fields(response, via)
    db.session.expire_all()
    assert db.session.get(Person, person.id).death_date is None


@pytest.mark.parametrize("death", ["tomorrow", "1946-08-08"])
def test_impossible_death_date_is_refused_on_registration(client, auth, world, death):
    death = tomorrow().isoformat() if death == "tomorrow" else death
    auth.login_as(world.user("county_staff"))
    before = row_counts()
    response = register(client, world, "api", death_date=death)
    assert response.status_code == 422
    assert "death_date" in response.get_json()["errors"]
    assert row_counts() == before


# --- assessments ----------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["form", "api"])
def test_assessment_in_the_future_is_refused(client, auth, world, via):
    auth.login_as(world.user("township_staff"))
    person = world.person_a
    before = row_counts()
    data = {"assessed_on": tomorrow().isoformat(), "level": "mild"}
    if via == "form":
        response = client.post(f"/people/{person.id}/assessments", data=data)
        assert "assessed_on" in invalid_fields(response.get_data(as_text=True))
    else:
        response = client.post(f"/api/v1/people/{person.id}/assessments", json=data)
        assert "assessed_on" in response.get_json()["errors"]
    assert response.status_code == 422
    assert row_counts() == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"assessed_on": "1950-03-14", "level": "mild"}, "assessed_on"),
        ({"assessed_on": "2025-01-02", "level": "hopeless"}, "level"),
        ({"level": "mild"}, "assessed_on"),
        ({"assessed_on": "2025-01-02"}, "level"),
    ],
)
def test_invalid_assessment_is_refused(client, auth, world, data, field):
    auth.login_as(world.user("county_staff"))
    before = row_counts()
    response = client.post(f"/api/v1/people/{world.person_a.id}/assessments", json=data)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert row_counts() == before


def test_assessment_notes_are_encrypted_at_rest(client, auth, world):
    user = auth.login_as(world.user("township_staff"))
    person = world.person_a
    notes = "高血压三级，需协助洗浴"
    response = client.post(
        f"/people/{person.id}/assessments",
        data={
            "assessed_on": "2025-06-01",
            "level": "moderate",
            "assessor": "李医生",
            "notes": notes,
        },
    )
    assert response.status_code == 302

    raw = db.session.execute(
        sa.text("SELECT id, notes, level FROM ability_assessment WHERE person_id = :p"),
        {"p": person.id},
    ).one()
    assert raw.level == "moderate"
    assert notes not in raw.notes and "高血压" not in raw.notes
    assert crypto.decrypt(raw.notes) == notes
    db.session.expire_all()
    stored = db.session.get(AbilityAssessment, raw.id)
    assert stored.notes == notes
    assert stored.recorded_by_id == user.id
    [entry] = audit_entries("person.assessed", person.id)
    assert notes not in str(entry.changes) + entry.note
    assert entry.changes["ability_level"] == [None, "moderate"]


def test_newest_assessment_is_current(client, auth, world):
    auth.login_as(world.user("county_staff"))
    person = world.person_a
    url = f"/api/v1/people/{person.id}/assessments"
    # Recorded out of order: the later-dated one first.
    for day, level in (("2025-05-01", "severe"), ("2024-01-10", "intact"), ("2024-09-10", "mild")):
        assert client.post(url, json={"assessed_on": day, "level": level}).status_code == 201

    listed = client.get(url).get_json()
    assert [a["assessed_on"] for a in listed] == ["2025-05-01", "2024-09-10", "2024-01-10"]
    assert client.get(f"/api/v1/people/{person.id}").get_json()["ability_level"] == "severe"
    db.session.expire_all()
    assert db.session.get(Person, person.id).current_ability.level == "severe"

    # Same day: the one recorded last wins.
    assert client.post(url, json={"assessed_on": "2025-05-01", "level": "total"}).status_code == 201
    assert client.get(f"/api/v1/people/{person.id}").get_json()["ability_level"] == "total"


def test_not_assessed_person_has_no_level(client, auth, world):
    auth.login_as(world.user("county_staff"))
    assert client.get(f"/api/v1/people/{world.person_a.id}").get_json()["ability_level"] is None
    assert client.get(f"/api/v1/people/{world.person_a.id}/assessments").get_json() == []


# --- list filters ---------------------------------------------------------------------------


@pytest.fixture
def crowd(world, make_person, make_region):
    """People of known ages, flags and economic status in county A, and one in county B."""
    today = local_today()
    township2 = make_region("610302007000", "神农镇")
    village2 = make_region("610302007201", "神农村")
    people = {
        "turns_80_today": make_person(world.village_a, name="王八十", born=years_ago(80, today)),
        "turns_80_tomorrow": make_person(
            world.village_a, name="王七九", born=years_ago(80, today) + timedelta(days=1)
        ),
        "aged_90": make_person(
            village2,
            name="刘九十",
            born=years_ago(90, today) - timedelta(days=40),
            lives_alone=True,
            economic_status="tekun_dispersed",
        ),
        "aged_65": make_person(
            world.township_a,
            name="陈六五",
            born=years_ago(65, today) - timedelta(days=3),
            empty_nest=True,
            economic_status="dibao",
            sex="M",
        ),
        "percent": make_person(world.village_a, name="100%老人", born=date(1950, 1, 1)),
        "dead": make_person(
            world.village_a,
            name="王故去",
            born=date(1940, 2, 2),
            death_date=date(2024, 1, 1),
            lives_alone=True,
        ),
        "elsewhere": make_person(
            world.village_b,
            name="王外县",
            born=years_ago(80, today),
            lives_alone=True,
            economic_status="dibao",
        ),
    }
    people["person_a"] = world.person_a
    people["township2"] = township2
    return people


def _ids(client, query: str) -> set[int]:
    response = client.get(f"/api/v1/people/?{query}")
    assert response.status_code == 200, response.get_json()
    return {p["id"] for p in response.get_json()}


def _names_on_page(client, query: str) -> str:
    response = client.get(f"/people/?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"turns_80_today", "turns_80_tomorrow", "aged_90", "aged_65", "percent", "person_a"}),
        ("q=王", {"turns_80_today", "turns_80_tomorrow"}),
        ("q=%25", {"percent"}),
        ("q=_", set()),
        ("min_age=80", {"turns_80_today", "aged_90"}),
        ("max_age=79", {"turns_80_tomorrow", "aged_65", "percent", "person_a"}),
        ("min_age=80&max_age=80", {"turns_80_today"}),
        ("min_age=66&max_age=79", {"turns_80_tomorrow", "percent", "person_a"}),
        ("flag=lives_alone", {"aged_90"}),
        ("flag=lives_alone&include_deceased=true", {"aged_90", "dead"}),
        ("flag=empty_nest", {"aged_65"}),
        ("economic_status=dibao", {"aged_65"}),
        ("economic_status=tekun_dispersed", {"aged_90"}),
        ("economic_status=low_income", set()),
        ("q=王&include_deceased=true", {"turns_80_today", "turns_80_tomorrow", "dead"}),
    ],
)
def test_list_filters(client, auth, world, crowd, query, expected):
    auth.login_as(world.user("county_staff"))
    assert _ids(client, query) == {crowd[k].id for k in expected}
    page = _names_on_page(client, query)
    for key, person in crowd.items():
        if key == "township2":
            continue
        shown = f'/people/{person.id}"' in page
        assert shown == (key in expected), (key, query)


def test_filter_by_region_subtree(client, auth, world, crowd):
    auth.login_as(world.user("county_staff"))
    township2 = crowd["township2"]
    assert _ids(client, f"region_id={township2.id}") == {crowd["aged_90"].id}
    assert _ids(client, f"region_id={world.township_a.id}") == {
        crowd[k].id
        for k in ("turns_80_today", "turns_80_tomorrow", "aged_65", "percent", "person_a")
    }
    # A region outside the county finds nothing, rather than that county's people.
    assert _ids(client, f"region_id={world.township_b.id}") == set()


def _lookup(client, number: str):
    """The page lookup by full ID number: a POST that redirects to the person or back."""
    return client.post("/people/lookup", data={"id_number": number})


def test_lookup_by_full_id_number(client, auth, world, crowd):
    auth.login_as(world.user("county_staff"))
    target = crowd["aged_65"]
    found = _lookup(client, target.id_number)
    assert found.status_code == 302 and found.location.endswith(f"/people/{target.id}")
    spaced = f"{target.id_number[:6]} {target.id_number[6:14]} {target.id_number[14:]}"
    assert _lookup(client, spaced).location.endswith(f"/people/{target.id}")
    # Out of scope looks exactly like nobody: back to the list with a notice.
    for number in (crowd["elsewhere"].id_number, target.id_number[:17], "not a number"):
        missed = _lookup(client, number)
        assert missed.status_code == 302 and missed.location.endswith("/people/")
    # The number never travels in a URL.
    assert target.id_number not in found.location


def test_id_number_is_not_a_list_filter_any_more(client, auth, world, crowd):
    auth.login_as(world.user("county_staff"))
    everyone = _ids(client, "per_page=200")
    assert _ids(client, f"id_number={crowd['aged_65'].id_number}&per_page=200") == everyone


def test_lookup_by_id_number_with_lower_case_x(client, auth, world, make_person):
    auth.login_as(world.user("county_staff"))
    person = make_person(world.village_a, id_number=id_ending_in_x())
    assert _lookup(client, person.id_number.lower()).location.endswith(f"/people/{person.id}")


def test_township_staff_list_only_their_township(client, auth, world, crowd):
    auth.login_as(world.user("township_staff"))
    assert _ids(client, "") == {
        crowd[k].id
        for k in ("turns_80_today", "turns_80_tomorrow", "aged_65", "percent", "person_a")
    }
    assert _ids(client, "flag=lives_alone") == set()


def test_admin_lists_every_county(client, auth, world, crowd):
    auth.login_as(world.user("admin"))
    ids = _ids(client, "per_page=200")
    assert crowd["elsewhere"].id in ids and world.person_b.id in ids
    assert crowd["dead"].id not in ids


def test_invalid_filters(client, auth, world, crowd):
    auth.login_as(world.user("county_staff"))
    for query in ("min_age=-1", "max_age=131", "flag=rich", "economic_status=x", "per_page=500"):
        response = client.get(f"/api/v1/people/?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["errors"], query
    # The page ignores bad filters with a warning, but still only within scope.
    page = _names_on_page(client, "min_age=abc")
    assert f'/people/{crowd["elsewhere"].id}"' not in page
    assert f'/people/{crowd["aged_65"].id}"' in page


def test_paging(client, auth, world, crowd):
    auth.login_as(world.user("county_staff"))
    first = client.get("/api/v1/people/?per_page=4&page=1").get_json()
    second = client.get("/api/v1/people/?per_page=4&page=2").get_json()
    assert len(first) == 4 and len(second) == 2
    assert not {p["id"] for p in first} & {p["id"] for p in second}
    assert client.get("/api/v1/people/?per_page=4&page=9").get_json() == []


@pytest.mark.parametrize("region_id", [2**31, -(2**63) - 1, 0])
def test_region_ids_out_of_range_are_invalid_not_errors(client, auth, world, region_id):
    """A number no id column can hold must not reach the database (SQLite overflows,
    PostgreSQL refuses to compare it)."""
    auth.login_as(world.user("county_staff"))
    listed = client.get(f"/api/v1/people/?region_id={region_id}")
    assert listed.status_code == 422
    assert "region_id" in listed.get_json()["errors"]
    before = row_counts()
    created = register(client, world, "api", region_id=region_id)
    assert created.status_code == 422
    assert "region_id" in created.get_json()["errors"]
    page = register(client, world, "form", region_id=str(region_id))
    assert page.status_code == 422
    assert row_counts() == before


def test_person_ids_out_of_range_are_not_found(client, auth, world):
    auth.login_as(world.user("county_staff"))
    for url in (
        f"/api/v1/people/{2**63}",
        f"/people/{2**31}",
        f"/api/v1/people/{2**40}/assessments",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/v1/people/{2**63}/reveal-id").status_code == 404


@pytest.mark.parametrize("via", ["form", "api"])
def test_a_refused_duplicate_is_audited_with_the_number_masked(client, auth, world, via):
    auth.login_as(world.user("county_staff"))
    number = world.person_b.id_number  # registered in the other county
    response = register(client, world, via, id_number=number, name="另一个人")
    assert response.status_code == 409
    db.session.expire_all()
    entries = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "person.duplicate_refused")
    ).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_id == world.user("county_staff").id
    assert entry.region_id == world.county_a.id  # visible to the refusing county's staff
    assert number not in str(entry.changes)
    assert entry.changes["id_number"][1] == resident_id.mask(number)
    # Nothing else of the refused request was kept.
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Person).where(Person.name == "另一个人")
        )
        == 0
    )


def test_api_list_rows_are_trimmed(client, auth, world, make_person):
    person = make_person(world.village_a, name="孙玉兰", phone="13912345678")
    auth.login_as(world.user("county_staff"))
    client.post(
        f"/api/v1/people/{person.id}/assessments",
        json={"assessed_on": "2025-05-01", "level": "severe", "notes": "卧床"},
    )
    [row] = [r for r in client.get("/api/v1/people/").get_json() if r["id"] == person.id]
    assert row["phone_masked"] == "139****5678"
    assert "13912345678" not in str(row)
    for hidden in ("birth_date", "ability_level", "address", "phone", "hukou_address"):
        assert hidden not in row
    # The person's own record (one staff member, one audited place) still has the detail.
    detail = client.get(f"/api/v1/people/{person.id}").get_json()
    assert detail["ability_level"] == "severe" and detail["phone"] == "13912345678"
