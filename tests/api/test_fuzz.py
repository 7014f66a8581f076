"""Schemathesis over /api/v1/openapi.json, in process, as a county staff member with a token."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

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
from eldercare.core import resident_id
from eldercare.extensions import db, limiter
from tests.builders import World, build_world

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _load_schema():
    """The document of an app built only to describe itself: ``schema.parametrize()`` needs
    the operations at collection time (the lazy ``schemathesis.pytest.from_fixture`` loader
    breaks on pytest 9.2: it reads ``Node._nodeid``, which is gone). Every request goes to the
    test's own ``app``."""
    describing = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", describing)


schema = _load_schema()


@dataclass
class Caller:
    """The fuzzing account: county staff of 渭滨区 in the builders' two-county world."""

    world: World
    token: ApiToken
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    @property
    def known_ids(self) -> dict[str, int]:
        w = self.world
        return {
            "person_id": w.person_a.id,
            "facility_id": w.facility_a.id,
            "region_id": w.village_a.id,
            "token_id": self.token.id,
        }


@pytest.fixture
def caller(app) -> Caller:
    """Built inside the test's rolled-back transaction, like every request of the run."""
    world = build_world()
    token, secret = create_token(world.user("county_staff"), "fuzz", 30)
    return Caller(world, token, secret)


@st.composite
def new_id_numbers(draw) -> str:
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(1965, 12, 31)))
    sex = draw(st.sampled_from("MF"))
    rng = random.Random(draw(st.integers(0, 10**6)))
    return resident_id.synthesise("610302", born, sex, rng)


def _reach_past_lookups(case, data, caller: Caller) -> None:
    """Random ids are nearly always 404 and random ID numbers nearly always invalid; half the
    time use real ones so the successful responses (and 409s) are checked too."""
    for name in list(case.path_parameters or {}):
        if name in caller.known_ids and data.draw(st.booleans(), label=f"real {name}"):
            case.path_parameters[name] = caller.known_ids[name]
    if not isinstance(case.body, dict):
        return
    if "region_id" in case.body and data.draw(st.booleans(), label="real region_id"):
        case.body["region_id"] = caller.world.village_a.id
    if "id_number" in case.body and data.draw(st.booleans(), label="valid id_number"):
        case.body["id_number"] = data.draw(
            st.one_of(st.just(caller.world.person_a.id_number), new_id_numbers()),
            label="id_number",
        )


def _keep_token_usable(token: ApiToken) -> None:
    # DELETE /auth/tokens/{id} may revoke the fuzzer's own token; un-revoke it so that the
    # later examples are not all 401.
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(revoked_at=None))
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
    _reach_past_lookups(case, data, caller)
    _keep_token_usable(caller.token)
    # Shrinking replays examples; a 429 from "30 reveals per hour" would make them flaky.
    limiter.reset()
    # `client` runs each request in a fresh context (its own session and `g`), as in
    # production; `app=app` sends it to the test's app, not the one that described the API.
    case.call_and_validate(app=app, session=client, headers=caller.headers, checks=CHECKS)
