"""CSRF protection as in production: forms and cookie-authenticated API calls need the
token, bearer-token API calls do not."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from eldercare.auth.models import ApiToken, User
from eldercare.auth.operations import create_token
from eldercare.extensions import db
from tests.builders import PASSWORD


@pytest.fixture
def client(csrf_app):
    return csrf_app.test_client()


def csrf_token_of(response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


def token_count(user) -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)
    )


@pytest.fixture
def signed_in(client, make_user):
    """A family member signed in through the real form (with its CSRF token)."""
    user = make_user("family", username="csrf_family")
    page = client.get("/auth/login")
    response = client.post(
        "/auth/login",
        data={"username": "csrf_family", "password": PASSWORD, "csrf_token": csrf_token_of(page)},
    )
    assert response.status_code == 302
    return user


def test_sign_in_form_without_token_is_refused(client, make_user):
    user = make_user("family", username="csrf_family")
    response = client.post("/auth/login", data={"username": "csrf_family", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/api/v1/auth/me").status_code == 401
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is None


def test_form_post_without_token_is_refused_and_writes_nothing(client, signed_in):
    response = client.post("/auth/tokens", data={"name": "集成", "expires_in_days": "30"})
    assert response.status_code == 400
    assert token_count(signed_in) == 0


def test_form_post_with_a_forged_token_is_refused(client, signed_in):
    response = client.post(
        "/auth/tokens", data={"name": "集成", "expires_in_days": "30", "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert token_count(signed_in) == 0


def test_form_post_with_the_token_from_the_page_works(client, signed_in):
    page = client.get("/auth/tokens")
    response = client.post(
        "/auth/tokens",
        data={"name": "集成", "expires_in_days": "30", "csrf_token": csrf_token_of(page)},
    )
    assert response.status_code == 200
    assert token_count(signed_in) == 1


def test_token_of_another_session_is_refused(csrf_app, client, signed_in):
    stranger = csrf_app.test_client()
    foreign_token = csrf_token_of(stranger.get("/auth/login"))
    response = client.post(
        "/auth/tokens",
        data={"name": "集成", "expires_in_days": "30", "csrf_token": foreign_token},
    )
    assert response.status_code == 400
    assert token_count(signed_in) == 0


def test_logout_without_token_is_refused(client, signed_in):
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/api/v1/auth/me").status_code == 200


def test_api_post_with_only_the_session_cookie_is_refused(client, signed_in):
    response = client.post("/api/v1/auth/tokens", json={"name": "脚本", "expires_in_days": 30})
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "bad_request"
    assert body["message"]
    assert "errors" in body
    assert token_count(signed_in) == 0


def test_api_post_with_session_cookie_and_csrf_header_works(client, signed_in):
    page = client.get("/auth/tokens")
    response = client.post(
        "/api/v1/auth/tokens",
        json={"name": "脚本", "expires_in_days": 30},
        headers={"X-CSRFToken": csrf_token_of(page)},
    )
    assert response.status_code == 201
    assert token_count(signed_in) == 1


def test_api_delete_with_only_the_session_cookie_is_refused(client, signed_in):
    token, _secret = create_token(signed_in, "t", 30)
    db.session.flush()
    response = client.delete(f"/api/v1/auth/tokens/{token.id}")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_api_post_with_a_bearer_token_needs_no_csrf_token(client, make_user, make_region):
    county = make_region("610302000000")
    user = make_user("county_staff", county)
    _token, secret = create_token(user, "integration", 30)
    db.session.flush()
    response = client.post(
        "/api/v1/facilities/",
        json={
            "name": "渭滨区颐养院",
            "kind": "nursing_home",
            "ownership": "private",
            "region_id": county.id,
        },
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 201


def test_invalid_bearer_token_does_not_skip_csrf_by_falling_back_to_the_cookie(client, signed_in):
    response = client.post(
        "/api/v1/auth/tokens",
        json={"name": "脚本", "expires_in_days": 30},
        headers={"Authorization": "Bearer ec_not-a-real-token"},
    )
    assert response.status_code == 401
    assert token_count(signed_in) == 0
