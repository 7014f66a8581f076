"""Ids beyond the database's integer range are client errors, never 500s (found by fuzzing)."""

from __future__ import annotations

import pytest

from eldercare.auth.operations import create_token

# PostgreSQL's integer column overflows past 2**31 - 1, SQLite's past 2**63 - 1.
TOO_BIG = [2**31, 2**63]

REQUESTS = [
    ("GET", "/api/v1/people/{n}", None),
    ("PUT", "/api/v1/people/{n}", {"name": "张三", "region_id": 1}),
    ("POST", "/api/v1/people/{n}/reveal-id", None),
    ("GET", "/api/v1/people/{n}/assessments", None),
    ("POST", "/api/v1/people/{n}/assessments", {"assessed_on": "2025-01-01", "level": "mild"}),
    ("GET", "/api/v1/people/?region_id={n}", None),
    ("GET", "/api/v1/regions/{n}", None),
    ("GET", "/api/v1/regions/?parent_id={n}", None),
    ("GET", "/api/v1/facilities/{n}", None),
    ("GET", "/api/v1/facilities/?region_id={n}", None),
    ("DELETE", "/api/v1/auth/tokens/{n}", None),
]


@pytest.fixture
def bearer(world) -> dict[str, str]:
    _token, secret = create_token(world.user("county_staff"), "bounds", 1)
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("n", TOO_BIG)
@pytest.mark.parametrize(("method", "url", "body"), REQUESTS)
def test_out_of_range_id_is_a_client_error(client, bearer, method, url, body, n):
    response = client.open(url.format(n=n), method=method, json=body, headers=bearer)
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] in {"not_found", "invalid_input", "bad_request"}


@pytest.mark.parametrize("n", TOO_BIG)
def test_out_of_range_region_in_a_body_is_a_client_error(client, bearer, world, n):
    body = {"name": "张三", "id_number": world.person_a.id_number, "region_id": n}
    response = client.post("/api/v1/people/", json=body, headers=bearer)
    assert response.status_code == 422
