"""Runs every route of every feature for every role, in and out of scope."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask import url_for

import tests
from tests.authz.matrix import ROLES, Route

# Routes anyone may call, signed in or not: they reveal nothing of anyone's data.
PUBLIC = {
    ("static", "GET"),
    ("bootstrap.static", "GET"),
    ("api-docs.openapi_json", "GET"),
    ("api-docs.openapi_swagger_ui", "GET"),
    ("api_docs.asset", "GET"),
    ("home.set_language", "POST"),
    ("home.healthz", "GET"),
    ("auth.login", "GET"),
    ("auth.login", "POST"),
    ("auth.logout", "POST"),
    # Family self-registration: a form for anonymous visitors, it shows nobody's data.
    ("auth.register", "GET"),
    ("auth.register", "POST"),
    # The public vacancy search: facilities and counts of free beds, no resident data.
    ("public.facilities", "GET"),
    ("public.facility", "GET"),
    # The public notice of rating results in notice and its objection form (rate-limited):
    # what the printed notice shows; tests/ratings/test_public_notice.py checks them.
    ("ratings_public.notices", "GET"),
    ("ratings_public.notice", "GET"),
    ("ratings_public.lodge_objection", "POST"),
    ("dashboard.plotly_js", "GET"),  # the plotly.js library itself
}


def collect_routes() -> list[Route]:
    routes = []
    for module in pkgutil.iter_modules(tests.__path__):
        if not module.ispkg:
            continue
        try:
            feature = importlib.import_module(f"tests.{module.name}.authz")
        except ModuleNotFoundError:
            continue
        routes.extend(feature.ROUTES)
    return routes


ROUTES = collect_routes()


def test_every_route_is_in_the_matrix(app):
    declared = {r.key for r in ROUTES}
    missing = []
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            key = (rule.endpoint, method)
            if key not in declared and key not in PUBLIC:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not missing, "routes missing from the authorization matrix:\n" + "\n".join(missing)


def _call(client, route: Route, world, user, target_id):
    kwargs = dict(route.extra_args)
    if isinstance(target_id, dict):  # a route with several URL parameters
        kwargs.update(target_id)
    elif route.target is not None:
        kwargs[route.arg] = target_id
    with client.application.test_request_context():
        url = url_for(route.endpoint, **kwargs)
    data = route.data(world, user) if route.data else None
    if route.api:
        return client.open(url, method=route.method, json=data if data is not None else None)
    return client.open(url, method=route.method, data=data)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_authorization(route: Route, client, auth, wide_world, _transaction):
    world = wide_world
    connection = _transaction
    failures = []

    def check(role, scope, expected, target_id):
        savepoint = connection.begin_nested()
        try:
            user = world.user(role) if role else None
            auth.login_as(user)
            response = _call(client, route, world, user, target_id)
            status = response.status_code
            to_sign_in = status != 302 or "/auth/login" in response.location
            if role is None and not route.api and not to_sign_in:
                failures.append(f"anonymous: redirected to {response.location}, not sign-in")
            if status not in expected:
                body = response.get_data(as_text=True)[:300].replace("\n", " ")
                failures.append(
                    f"{role or 'anonymous'} {scope}: {status}, expected {expected}: {body}"
                )
        finally:
            savepoint.rollback()

    probe = world.user("admin")
    in_id, _ = route.target(world, probe) if route.target else (None, None)
    check(None, "anonymous", (401,) if route.api else (302,), in_id)
    for role in ROLES:
        user = world.user(role)
        in_id, out_id = route.target(world, user) if route.target else (None, None)
        if role not in route.allowed:
            check(role, "not allowed", (403,), in_id)
            continue
        check(role, "in scope", route.ok, in_id)
        if route.target is not None and out_id is not None and role != "admin":
            check(role, "out of scope", (404,), out_id)
    assert not failures, f"{route}:\n" + "\n".join(failures)
