"""The field-app API: a visitor's due list and recording a visit, with a personal token."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eldercare.auth.operations import create_token
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.visits.models import Visit
from tests.builders import build_person
from tests.visits.helpers import build_target, visit_json


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_token(user, 'field app', 30)[1]}"}


def test_due_list_holds_only_the_visitors_people(world, client):
    today = local_today()
    visitor = world.user("visitor")
    mine = build_target(
        build_person(world.village_a, name="冯秀梅", lives_alone=True),
        [visitor],
        today - timedelta(days=30),
    )
    build_target(build_person(world.village_a, lives_alone=True), [], today - timedelta(days=30))
    response = client.get("/api/v1/visits/due", headers=_bearer(visitor))
    assert response.status_code == 200
    [item] = response.get_json()
    assert item["id"] == mine.id and item["status"] == "overdue" and item["name"] == "冯秀梅"
    assert set(item) == {
        "id",
        "person_id",
        "name",
        "age",
        "village",
        "tier",
        "status",
        "next_due_on",
        "urgent_due_at",
        "last_visit_at",
    }


def test_record_a_visit_and_retry_it_safely(world, client):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(world.village_a, lives_alone=True), [visitor], today - timedelta(days=30)
    )
    headers = _bearer(visitor)
    body = visit_json(client_token="app-9f2c41d7", health_notes="血压偏高")
    first = client.post(f"/api/v1/visits/targets/{target.id}/visits", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post(f"/api/v1/visits/targets/{target.id}/visits", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert "health_notes" not in first.get_json()
    assert first.get_json()["next_due_on"] == (today + timedelta(days=90)).isoformat()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1


def test_bad_visit_is_refused_in_chinese(world, client):
    visitor = world.user("visitor")
    target = build_target(build_person(world.village_a, lives_alone=True), [visitor])
    body = visit_json(method="telepathy")
    body["visited_at"] = "2999-01-01T10:00:00+08:00"
    response = client.post(
        f"/api/v1/visits/targets/{target.id}/visits", json=body, headers=_bearer(visitor)
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"method", "visited_at"}
    assert "时间" in errors["visited_at"][0]


def test_someone_elses_person_is_not_found(world, client):
    target = build_target(build_person(world.village_a, lives_alone=True))
    response = client.post(
        f"/api/v1/visits/targets/{target.id}/visits",
        json=visit_json(),
        headers=_bearer(world.user("visitor")),
    )
    assert response.status_code == 404
