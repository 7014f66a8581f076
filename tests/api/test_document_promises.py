"""What the OpenAPI document promises, held for every operation it lists (issue 25, item 5):
a write sent signed out is 401 (as documented), not the CSRF failure's 400; a PATCH with
nothing to change is refused; money is one type, a string of yuan, in the document and on the
wire. Walks the document itself, so an operation added later is held to it at once."""

from __future__ import annotations

import re

import pytest

from eldercare import create_app
from eldercare.auth.operations import create_token

PATH_PARAMETER = re.compile(r"\{[^}]+\}")
WRITES = ("post", "put", "patch", "delete")


def _document(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


def _writes(spec: dict) -> list[tuple[str, str]]:
    return [
        (method, PATH_PARAMETER.sub("1", path))
        for path, operations in spec["paths"].items()
        for method in operations
        if method in WRITES
    ]


@pytest.fixture
def guarded_app():
    """The app as production runs it: CSRF checked on every write made with a session."""
    return create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "WTF_CSRF_ENABLED": True}
    )


def test_every_write_sent_signed_out_is_401_as_documented(guarded_app):
    spec = _document(guarded_app)
    writes = _writes(spec)
    assert len(writes) > 15  # the walk found the document's operations
    client = guarded_app.test_client()
    wrong = {}
    for method, path in writes:
        response = getattr(client, method)(path, json={})
        body = response.get_json(silent=True) or {}
        if (response.status_code, body.get("code")) != (401, "unauthorized"):
            wrong[f"{method.upper()} {path}"] = (response.status_code, body.get("code"))
    assert wrong == {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method in WRITES:
                assert "401" in operation["responses"], f"{method} {path} documents no 401"


def test_a_write_signed_in_without_its_csrf_token_is_still_refused(guarded_app):
    """401 first only when there is no session: a signed-in browser's write still needs the
    token, so a forged request riding the cookie is refused."""
    client = guarded_app.test_client()
    with guarded_app.app_context():
        from eldercare.extensions import db
        from tests.builders import build_user, start_session

        db.create_all()
        user = build_user("admin", username="csrf_admin")
        key = start_session(user)
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = key
        session["_fresh"] = True
    response = client.post("/api/v1/auth/tokens", json={"name": "x", "days": 30})
    assert response.status_code == 400
    assert "表单已过期" in response.get_json()["message"]


def test_an_unknown_api_path_is_404_whatever_the_method(guarded_app):
    client = guarded_app.test_client()
    assert client.post("/api/v1/nothing-here", json={}).status_code == 404
    assert client.patch("/api/v1/people/1", json={}).status_code == 405


def test_a_patch_with_nothing_to_change_is_refused(client, world, make_room, make_bed):
    bed = make_bed(make_room(world.facility_a))
    secret = create_token(world.user("operator"), "test", 1)[1]
    headers = {"Authorization": f"Bearer {secret}"}
    for body in ({}, {"unknown": "x"}):
        response = client.patch(f"/api/v1/beds/{bed.id}", json=body, headers=headers)
        assert response.status_code == 422, body
        assert "请至少修改一项" in response.get_json()["errors"]["_schema"][0]


def _money_properties(spec: dict) -> dict[str, dict]:
    found = {}
    for name, schema in spec["components"]["schemas"].items():
        for prop, definition in (schema.get("properties") or {}).items():
            if "price" in prop or "amount" in prop or prop.endswith("_yuan"):
                found[f"{name}.{prop}"] = definition
    return found


def test_money_is_a_string_of_yuan_in_the_document_and_on_the_wire(
    client, world, make_room, make_bed
):
    spec = client.get("/api/v1/openapi.json").get_json()
    money = _money_properties(spec)
    assert "BedOut.monthly_price" in money
    for name, definition in money.items():
        assert definition.get("type") == "string", name
        assert definition.get("pattern") == r"^\d+(\.\d{1,2})?$", name
    bed = make_bed(make_room(world.facility_a), price_fen=320_000)
    secret = create_token(world.user("operator"), "test", 1)[1]
    response = client.get(f"/api/v1/beds/{bed.id}", headers={"Authorization": f"Bearer {secret}"})
    assert response.get_json()["bed"]["monthly_price"] == "3200.00"


#: Rules the server enforces that JSON Schema cannot express, and a field that has each.
ENFORCED = {
    ("Admit", "id_number"): "check digit",
    ("Admit", "admitted_on"): "Not in the future",
    ("Visit", "visited_at"): "at most 31 days ago",
    ("Facility", "region_id"): "inside the caller's own area",
    ("Person", "region_id"): "township or village",
}


def test_the_rules_json_schema_cannot_say_are_in_the_document(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for (schema, prop), words in ENFORCED.items():
        definition = schemas[schema]["properties"][prop]
        assert any(words in text for text in definition["x-enforced"]), (schema, prop)
        assert words in definition["description"], (schema, prop)


def test_required_text_is_documented_as_not_empty(client):
    """Blank text is read as missing: a required text field of a request says it needs one
    character."""
    spec = client.get("/api/v1/openapi.json").get_json()
    bodies = {
        content["schema"]["$ref"].rsplit("/", 1)[-1]
        for operations in spec["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for content in operation.get("requestBody", {}).get("content", {}).values()
        if "$ref" in content.get("schema", {})
    }
    assert {"Admit", "Facility", "Person", "Visit"} <= bodies
    for name in bodies:
        schema = spec["components"]["schemas"][name]
        for prop in schema.get("required", []):
            definition = schema["properties"][prop]
            if definition.get("type") == "string" and not {"enum", "format"} & definition.keys():
                assert definition.get("minLength", 0) >= 1 or "pattern" in definition, (name, prop)
