"""Personal API tokens: created on the page or through the API, the secret shown once and
only its digest stored; bearer authentication, expiry, revocation and ownership."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import ApiToken, User
from eldercare.auth.operations import TOKEN_PREFIX, create_token
from eldercare.core.audit import AuditLog
from eldercare.core.db import utcnow
from eldercare.extensions import db


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def tokens_of(user) -> list[ApiToken]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
        )
    )


def raw_token_rows(user) -> list[str]:
    rows = db.session.execute(
        sa.text("SELECT * FROM api_token WHERE user_id = :u"), {"u": user.id}
    ).all()
    return [" ".join(str(v) for v in row) for row in rows]


def assert_error_shape(response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)


@pytest.fixture
def family(make_user):
    return make_user("family", username="token_owner")


@pytest.fixture
def secret(family):
    _token, secret = create_token(family, "integration", 30)
    db.session.flush()
    return secret


# --- creation ---------------------------------------------------------------------------


def test_create_on_the_page_shows_the_secret_once_and_stores_its_digest(client, auth, family):
    auth.login_as(family)
    response = client.post("/auth/tokens", data={"name": "报表脚本", "expires_in_days": "30"})
    assert response.status_code == 200
    match = re.search(r'id="new-token">([^<]+)<', response.get_data(as_text=True))
    assert match
    secret = match.group(1)
    assert secret.startswith(TOKEN_PREFIX) and len(secret) > 40

    [token] = tokens_of(family)
    assert token.name == "报表脚本"
    assert token.token_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in " ".join(raw_token_rows(family))
    assert secret.startswith(token.hint) and len(token.hint) < 12
    assert timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)

    again = client.get("/auth/tokens").get_data(as_text=True)
    assert secret not in again
    assert "报表脚本" in again

    assert client.get("/api/v1/auth/me", headers=bearer(secret)).get_json()["id"] == family.id


def test_create_on_the_page_with_bad_input_is_422(client, auth, family):
    auth.login_as(family)
    for data in (
        {"name": ""},
        {"name": "x", "expires_in_days": "366"},
        {"name": "x", "expires_in_days": "0"},
        {"name": "bad\x00name"},
    ):
        assert client.post("/auth/tokens", data=data).status_code == 422, data
    assert tokens_of(family) == []


def test_create_through_the_api_returns_the_secret_once(client, auth, family):
    auth.login_as(family)
    response = client.post("/api/v1/auth/tokens", json={"name": "脚本", "expires_in_days": 7})
    assert response.status_code == 201
    body = response.get_json()
    secret = body["token"]
    assert secret.startswith(TOKEN_PREFIX)
    assert body["name"] == "脚本" and body["hint"] == secret[: len(body["hint"])]

    [token] = tokens_of(family)
    assert token.id == body["id"]
    assert token.token_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in " ".join(raw_token_rows(family))

    listing = client.get("/api/v1/auth/tokens").get_json()
    assert [t["id"] for t in listing] == [token.id]
    assert "token" not in listing[0]
    assert secret not in client.get("/api/v1/auth/tokens").get_data(as_text=True)


def test_create_through_the_api_validates(client, auth, family):
    auth.login_as(family)
    response = client.post("/api/v1/auth/tokens", json={"expires_in_days": 999})
    assert_error_shape(response, 422, "invalid_input")
    assert set(response.get_json()["errors"]) == {"name", "expires_in_days"}
    assert tokens_of(family) == []


def test_every_token_is_different(family):
    secrets = {create_token(family, f"t{i}", 1)[1] for i in range(5)}
    assert len(secrets) == 5


def test_creation_and_revocation_are_audited(client, auth, family):
    auth.login_as(family)
    token_id = client.post("/api/v1/auth/tokens", json={"name": "审计"}).get_json()["id"]
    client.delete(f"/api/v1/auth/tokens/{token_id}")
    db.session.expire_all()
    actions = db.session.scalars(
        sa.select(AuditLog.action)
        .where(AuditLog.entity_type == "ApiToken", AuditLog.entity_id == token_id)
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["token.created", "token.revoked"]


# --- using a token ----------------------------------------------------------------------


def test_token_authenticates_me(client, family, secret):
    response = client.get("/api/v1/auth/me", headers=bearer(secret))
    assert response.status_code == 200
    assert response.get_json()["username"] == "token_owner"
    assert tokens_of(family)[0].last_used_at is not None


def test_the_bearer_scheme_is_case_insensitive(client, family, secret):
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"bearer {secret}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer ", "Bearer ec_wrong", "Bearer  ", "Bearer ec_" + "A" * 43],
)
def test_unknown_token_is_401(client, header):
    assert_error_shape(
        client.get("/api/v1/auth/me", headers={"Authorization": header}), 401, "unauthorized"
    )


def test_no_credentials_is_401_in_the_same_shape(client):
    assert_error_shape(client.get("/api/v1/auth/me"), 401, "unauthorized")


def test_revoked_token_is_401(client, family, secret):
    [token] = tokens_of(family)
    token.revoked_at = utcnow()
    db.session.flush()
    assert_error_shape(client.get("/api/v1/auth/me", headers=bearer(secret)), 401, "unauthorized")


def test_expired_token_is_401(client, family, secret):
    [token] = tokens_of(family)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert_error_shape(client.get("/api/v1/auth/me", headers=bearer(secret)), 401, "unauthorized")


def test_token_of_a_disabled_user_is_401(client, family, secret):
    family.active = False
    db.session.flush()
    assert_error_shape(client.get("/api/v1/auth/me", headers=bearer(secret)), 401, "unauthorized")


def test_bearer_request_ignores_the_session_cookie(client, auth, world, family, secret):
    auth.login_as(world.user("admin"))
    assert client.get("/api/v1/auth/me").get_json()["username"] == "w_admin"
    # With a token the request is the token's user, not the signed-in admin.
    assert client.get("/api/v1/auth/me", headers=bearer(secret)).get_json()["id"] == family.id
    # On the HTML pages a token counts for nothing: the session (and its CSRF check) rules.
    assert client.get("/auth/users", headers=bearer(secret)).status_code == 200


def test_bad_bearer_request_does_not_fall_back_to_the_session(client, auth, world):
    auth.login_as(world.user("admin"))
    response = client.get("/api/v1/auth/me", headers=bearer("ec_wrong"))
    assert_error_shape(response, 401, "unauthorized")


def test_bearer_request_sets_no_session(client, family, secret):
    response = client.get("/api/v1/auth/me", headers=bearer(secret))
    assert response.status_code == 200
    assert not any(h.startswith("session=") for h in response.headers.getlist("Set-Cookie"))
    # The next request without the token is anonymous.
    assert client.get("/api/v1/auth/me").status_code == 401


# --- revocation -------------------------------------------------------------------------


def test_revoke_through_the_api(client, family, secret):
    [token] = tokens_of(family)
    response = client.delete(f"/api/v1/auth/tokens/{token.id}", headers=bearer(secret))
    assert response.status_code == 204
    assert tokens_of(family)[0].revoked_at is not None
    assert client.get("/api/v1/auth/me", headers=bearer(secret)).status_code == 401


def test_revoke_on_the_page(client, auth, family, secret):
    [token] = tokens_of(family)
    auth.login_as(family)
    assert client.post(f"/auth/tokens/{token.id}/revoke").status_code == 302
    assert tokens_of(family)[0].revoked_at is not None
    assert client.get("/api/v1/auth/me", headers=bearer(secret)).status_code == 401


def test_a_user_cannot_revoke_another_users_token(client, auth, make_user, family, secret):
    [token] = tokens_of(family)
    other = make_user("family")
    auth.login_as(other)
    assert_error_shape(client.delete(f"/api/v1/auth/tokens/{token.id}"), 404, "not_found")
    assert client.post(f"/auth/tokens/{token.id}/revoke").status_code == 404
    assert tokens_of(family)[0].revoked_at is None
    assert client.get("/api/v1/auth/me", headers=bearer(secret)).status_code == 200


def test_an_admin_cannot_revoke_another_users_token_through_the_api(
    client, auth, world, family, secret
):
    [token] = tokens_of(family)
    auth.login_as(world.user("admin"))
    assert_error_shape(client.delete(f"/api/v1/auth/tokens/{token.id}"), 404, "not_found")
    assert tokens_of(family)[0].revoked_at is None


def test_others_tokens_are_not_listed(client, auth, make_user, family, secret):
    auth.login_as(make_user("family"))
    assert client.get("/api/v1/auth/tokens").get_json() == []
    assert "integration" not in client.get("/auth/tokens").get_data(as_text=True)


def test_revoking_twice_is_harmless(client, family, secret):
    [token] = tokens_of(family)
    _t, other_secret = create_token(family, "second", 30)
    db.session.flush()
    assert (
        client.delete(f"/api/v1/auth/tokens/{token.id}", headers=bearer(other_secret)).status_code
        == 204
    )
    assert (
        client.delete(f"/api/v1/auth/tokens/{token.id}", headers=bearer(other_secret)).status_code
        == 204
    )
    db.session.expire_all()
    revocations = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "token.revoked", AuditLog.entity_id == token.id)
    )
    assert revocations == 1


@pytest.mark.parametrize("token_id", [0, 2**31, 2**63, 10**30])
def test_revoke_of_an_id_beyond_any_row_is_404(client, family, secret, token_id):
    """Not a database error: SQLite cannot bind 2**63, PostgreSQL refuses 2**31 for INTEGER."""
    response = client.delete(f"/api/v1/auth/tokens/{token_id}", headers=bearer(secret))
    assert_error_shape(response, 404, "not_found")


def test_a_token_means_nothing_on_the_html_pages(client, make_user):
    admin = make_user("admin")
    _token, secret = create_token(admin, "leaked", 30)
    headers = {"Authorization": f"Bearer {secret}"}
    page = client.get("/auth/users", headers=headers)
    assert page.status_code == 302 and "/auth/login" in page.location
    created = client.post(
        "/auth/users/new",
        headers=headers,
        data={
            "username": "intruder",
            "display_name": "x",
            "role": "admin",
            "password": "Password-2026",
        },
    )
    assert created.status_code == 302 and "/auth/login" in created.location
    assert db.session.scalar(db.select(User).where(User.username == "intruder")) is None


def test_a_token_cannot_mint_tokens(client, make_user, make_region):
    user = make_user("county_staff", make_region("610302000000"))
    _token, secret = create_token(user, "integration", 30)
    response = client.post(
        "/api/v1/auth/tokens",
        json={"name": "second", "expires_in_days": 365},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"
