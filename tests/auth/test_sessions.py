"""Issue 25, item 3: signing out ends the sign-in on the server. A session cookie or a "stay
signed in" cookie copied before sign-out no longer signs in; a password change revokes the
account's API tokens; an administrator can sign an account out everywhere."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eldercare.auth.models import ApiToken, SessionEnd, UserSession
from eldercare.auth.operations import create_token
from eldercare.core.audit import AuditLog
from eldercare.core.db import utcnow
from eldercare.extensions import db
from tests.auth.test_login import NEW_PASSWORD, login, signed_in_as
from tests.builders import PASSWORD


def _copy(source, target, name: str) -> None:
    cookie = source.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    target.set_cookie(name, cookie.value)


def _sign_ins(user) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)))


def test_a_session_cookie_copied_before_sign_out_signs_nobody_in(app, client, world):
    assert login(client, "w_visitor").status_code == 302
    thief = app.test_client()
    _copy(client, thief, "session")
    assert signed_in_as(thief) == "w_visitor"

    assert client.post("/auth/logout").status_code == 302
    assert signed_in_as(client) is None
    assert signed_in_as(thief) is None
    assert thief.get("/visits/").status_code == 302  # the pages send it to sign in
    (sign_in,) = _sign_ins(world.user("visitor"))
    assert sign_in.end_reason == SessionEnd.SIGNED_OUT and sign_in.ended_at is not None


def test_a_stay_signed_in_cookie_copied_before_sign_out_signs_nobody_in(app, client, world):
    assert login(client, "w_visitor", remember="1").status_code == 302
    thief = app.test_client()
    _copy(client, thief, "remember_token")
    assert signed_in_as(thief) == "w_visitor"  # the cookie alone signs in, until sign-out

    client.post("/auth/logout")
    fresh = app.test_client()
    _copy(thief, fresh, "remember_token")
    assert signed_in_as(fresh) is None


def test_signing_out_ends_only_this_sign_in(app, client, world):
    phone = app.test_client()
    login(client, "w_visitor")
    login(phone, "w_visitor")
    client.post("/auth/logout")
    assert signed_in_as(phone) == "w_visitor"
    assert AuditLog.query.filter_by(action="auth.logout").count() == 1


def test_only_the_digest_of_a_sign_in_key_is_stored(client, world):
    login(client, "w_visitor")
    (sign_in,) = _sign_ins(world.user("visitor"))
    cookie_id = client.get_cookie("session").value
    assert sign_in.key_digest not in cookie_id and len(sign_in.key_digest) == 64


def test_a_sign_in_ends_by_itself_after_its_hours(app, client, world):
    login(client, "w_visitor")
    (sign_in,) = _sign_ins(world.user("visitor"))
    assert sign_in.expires_at - sign_in.created_at == timedelta(hours=app.config["SIGN_IN_HOURS"])
    sign_in.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert signed_in_as(client) is None


def test_stay_signed_in_lasts_the_cookie_days(app, client, world):
    login(client, "w_visitor", remember="1")
    (sign_in,) = _sign_ins(world.user("visitor"))
    assert sign_in.remember
    assert sign_in.expires_at - sign_in.created_at == app.config["REMEMBER_COOKIE_DURATION"]


def test_a_password_change_revokes_the_accounts_api_tokens(app, client, world):
    visitor = world.user("visitor")
    _token, secret = create_token(visitor, "报表脚本", 30)
    bearer = {"Authorization": f"Bearer {secret}"}
    api = app.test_client()
    assert api.get("/api/v1/auth/me", headers=bearer).status_code == 200

    login(client, "w_visitor")
    response = client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "API 令牌已被撤销" in response.get_data(as_text=True)
    assert api.get("/api/v1/auth/me", headers=bearer).status_code == 401
    db.session.expire_all()
    assert db.session.get(ApiToken, _token.id).revoked_at is not None
    assert signed_in_as(client) == "w_visitor"  # this sign-in goes on


def test_an_admin_signs_an_account_out_everywhere(app, client, auth, world):
    visitor = world.user("visitor")
    desk, phone = app.test_client(), app.test_client()
    login(desk, "w_visitor")
    login(phone, "w_visitor", remember="1")
    _token, secret = create_token(visitor, "同步", 30)
    admin = auth.login_as(world.user("admin"))

    page = client.get(f"/auth/users/{visitor.id}").get_data(as_text=True)
    assert 'id="sign-ins"' in page and page.count("<tr><td>") == 2
    response = client.post(f"/auth/users/{visitor.id}/sessions/end", follow_redirects=True)
    assert response.status_code == 200
    assert "2 个登录已结束" in response.get_data(as_text=True)

    assert signed_in_as(desk) is None and signed_in_as(phone) is None
    fresh = app.test_client()
    _copy(phone, fresh, "remember_token")
    assert signed_in_as(fresh) is None
    bearer = {"Authorization": f"Bearer {secret}"}
    assert fresh.get("/api/v1/auth/me", headers=bearer).status_code == 401
    entry = AuditLog.query.filter_by(action="user.sessions_ended").one()
    assert entry.actor_id == admin.id and entry.entity_id == visitor.id
    assert {s.end_reason for s in _sign_ins(visitor)} == {SessionEnd.ENDED_BY_ADMIN}
    assert login(desk, "w_visitor").status_code == 302  # the password still signs in


def test_only_an_admin_signs_others_out(client, auth, world):
    visitor = world.user("visitor")
    auth.login_as(world.user("county_staff"))
    assert client.post(f"/auth/users/{visitor.id}/sessions/end").status_code in (403, 404)
