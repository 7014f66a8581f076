"""Schemathesis over /api/v1/openapi.json, in process, as a county staff member with a token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eldercare import create_app
from eldercare.auth.models import ApiToken
from eldercare.auth.operations import create_token
from eldercare.extensions import db
from tests.builders import World, build_world

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]



def _load_schema():
    """The document of an app built only to describe itself: ``schema.parametrize()`` needs
    the operations at collection time. Requests go to the test's ``app`` instead."""
    describing = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", describing)


schema = _load_schema()


@dataclass
class Caller:
    world: World
    token: ApiToken
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def known_ids(self) -> dict[str, int]:
        """Ids of real records in the caller's county, to reach past the 404s."""
        w = self.world
        return {
            "person_id": w.person_a.id,
            "facility_id": w.facility_a.id,
            "region_id": w.village_a.id,
            "token_id": self.token.id,
        }


@pytest.fixture
def caller(app) -> Caller:
    """A county staff member of 渭滨区 and an API token, inside the test's rolled-back
    transaction."""
    world = build_world()
    token, secret = create_token(world.user("county_staff"), "fuzz", 30)
    return Caller(world, token, secret)


def _keep_token_usable(token: ApiToken) -> None:
    # DELETE /auth/tokens/{id} may revoke the fuzzer's own token; un-revoke it so later
    # examples are not all 401.
    db.session.execute(
        sa.update(ApiToken).where(ApiToken.id == token.id).values(revoked_at=None)
    )
    db.session.flush()


@pytest.mark.fuzz
@schema.given(data=st.data())
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case, data, app, caller, client):
    for name in case.path_parameters or {}:
        known = caller.known_ids().get(name)
        if known is not None and data.draw(st.booleans(), label=f"use known {name}"):
            case.path_parameters[name] = known
    _keep_token_usable(caller.token)
    # `client` runs every request in a fresh context (own session and `g`), as in production.
    case.call_and_validate(app=app, session=client, headers=caller.headers, checks=CHECKS)
