"""A NUL or another control character in any string parameter of the API, query string
included, is refused with 422 and the one error shape (issue 25, item 4): never a 500 from the
database (PostgreSQL refuses NUL in text). Walks every GET operation of the OpenAPI document,
so a parameter added later is tried as soon as it is documented."""

from __future__ import annotations

import re

import pytest

PATH_PARAMETER = re.compile(r"\{[^}]+\}")


def _string_query_parameters(spec: dict) -> list[tuple[str, str]]:
    found = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None or PATH_PARAMETER.search(path):
            continue
        for parameter in get.get("parameters", []):
            if parameter.get("in") == "query" and parameter.get("schema", {}).get("type") in (
                "string",
                None,
            ):
                found.append((path, parameter["name"]))
    return found


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def test_every_string_query_parameter_refuses_control_characters(client, auth, world, spec):
    auth.login_as(world.user("county_staff"))
    tried = _string_query_parameters(spec)
    assert len(tried) >= 5, tried  # the people's and facilities' searches among them
    for path, name in tried:
        for bad in ("%00", "a%01b", "%7F"):
            response = client.get(f"{path}?{name}={bad}")
            assert response.status_code == 422, (path, name, bad, response.status_code)
            body = response.get_json()
            assert body["code"] == "invalid_input" and name in body["errors"], (path, name)


def test_a_form_field_with_a_nul_is_refused_and_kept(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.get("/people/?q=%00")
    assert response.status_code in (200, 422)  # a list page drops the bad filter
    assert response.status_code != 500
