"""Signing in and out: identifiers, generic refusals, lockout, redirects, rate limit,
password change ending the other sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest

from eldercare.auth.models import User
from eldercare.auth.passwords import verify_password
from eldercare.core.db import utcnow
from eldercare.extensions import db
from tests.builders import PASSWORD, Auth

NEW_PASSWORD = "Changed-pass-2027"


def login(client, username, password=PASSWORD, **extra):
    return client.post("/auth/login", data={"username": username, "password": password, **extra})


def signed_in_as(client) -> str | None:
    """The user name the API sees for this client, or None when it is signed out."""
    response = client.get("/api/v1/auth/me")
    if response.status_code == 401:
        return None
    assert response.status_code == 200
    return response.get_json()["username"]


def error_alert(response) -> str:
    """The form-level error box of the sign-in page."""
    match = re.search(
        r'<div class="alert alert-danger"[^>]*>(.*?)</div>\s*</div>',
        response.get_data(as_text=True),
        re.S,
    )
    assert match, "no error box on the page"
    return match.group(1)


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@pytest.fixture
def visitor(make_user, make_region):
    return make_user(
        "visitor",
        make_region("610302006201"),
        username="Li.Visitor",
        email="li.visitor@example.cn",
        phone="13800000001",
    )


# --- identifiers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    [
        "Li.Visitor",
        "li.visitor",
        "li.visitor@example.cn",
        "LI.VISITOR@EXAMPLE.CN",
        "13800000001",
        " 13800000001 ",
    ],
)
def test_sign_in_with_user_name_email_or_phone(client, visitor, identifier):
    response = login(client, identifier)
    assert response.status_code == 302
    assert signed_in_as(client) == "Li.Visitor"
    user = reload(visitor)
    assert user.last_login_at is not None
    assert user.failed_logins == 0


def test_sign_in_page_for_a_signed_in_user_goes_home(client, visitor):
    login(client, "Li.Visitor")
    response = client.get("/auth/login")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/"


def test_missing_fields_are_422_with_field_errors(client):
    response = client.post("/auth/login", data={"username": "", "password": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="f-username"' in body and "is-invalid" in body


# --- refusals say nothing about which part was wrong -------------------------------------


def test_wrong_password_is_refused_with_the_same_message_as_an_unknown_user(client, visitor):
    wrong_password = login(client, "Li.Visitor", "Not-the-password-1")
    unknown_user = login(client, "nobody.here", "Not-the-password-1")
    assert wrong_password.status_code == 422
    assert unknown_user.status_code == 422
    assert error_alert(wrong_password) == error_alert(unknown_user)
    assert signed_in_as(client) is None
    assert reload(visitor).failed_logins == 1


def test_the_password_field_is_not_sent_back(client, visitor):
    response = login(client, "Li.Visitor", "Not-the-password-1")
    assert "Not-the-password-1" not in response.get_data(as_text=True)
    assert "Li.Visitor" in response.get_data(as_text=True)  # the name is kept for a retry


def test_inactive_user_is_refused(client, visitor):
    visitor.active = False
    db.session.flush()
    response = login(client, "Li.Visitor")
    assert response.status_code == 422
    assert signed_in_as(client) is None


def test_inactive_user_with_a_live_session_is_signed_out(client, auth, visitor):
    auth.login_as(visitor)
    assert signed_in_as(client) == "Li.Visitor"
    visitor.active = False
    db.session.flush()
    assert signed_in_as(client) is None


# --- lockout ----------------------------------------------------------------------------


def lock_out(client, app, name="Li.Visitor"):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, name, "Not-the-password-1").status_code == 422


def test_lockout_after_max_failures(client, app, visitor):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        login(client, "Li.Visitor", "Not-the-password-1")
    assert not reload(visitor).is_locked()
    login(client, "Li.Visitor", "Not-the-password-1")
    user = reload(visitor)
    assert user.is_locked()
    lock = user.locked_until - utcnow()
    minutes = app.config["LOGIN_LOCKOUT_MINUTES"]
    assert timedelta(minutes=minutes - 1) < lock <= timedelta(minutes=minutes)


def test_locked_account_refuses_even_the_right_password(client, app, visitor):
    lock_out(client, app)
    response = login(client, "Li.Visitor")
    assert response.status_code == 422
    assert signed_in_as(client) is None


def test_locked_account_looks_like_a_wrong_password_to_whoever_lacks_it(client, app, visitor):
    """Otherwise locking an account by guessing would reveal which user names exist."""
    lock_out(client, app)
    locked_wrong = login(client, "Li.Visitor", "Not-the-password-1")
    unknown = login(client, "nobody.here", "Not-the-password-1")
    assert error_alert(locked_wrong) == error_alert(unknown)
    # The owner, who knows the password, is told why it does not work.
    assert error_alert(login(client, "Li.Visitor")) != error_alert(unknown)


def test_success_resets_the_failure_count(client, visitor):
    login(client, "Li.Visitor", "Not-the-password-1")
    login(client, "Li.Visitor", "Not-the-password-1")
    assert reload(visitor).failed_logins == 2
    login(client, "Li.Visitor")
    assert reload(visitor).failed_logins == 0


def test_lock_ends_by_itself(client, app, visitor):
    lock_out(client, app)
    user = reload(visitor)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert login(client, "Li.Visitor").status_code == 302
    assert reload(visitor).locked_until is None


def test_admin_unlock_clears_the_lock(client, app, visitor, make_user):
    lock_out(client, app)
    admin_client = app.test_client()
    Auth(admin_client).login_as(make_user("admin"))
    response = admin_client.post(f"/auth/users/{visitor.id}/unlock")
    assert response.status_code == 302
    user = reload(visitor)
    assert user.locked_until is None and user.failed_logins == 0
    assert login(client, "Li.Visitor").status_code == 302
    assert signed_in_as(client) == "Li.Visitor"


def test_only_admins_may_unlock(client, app, auth, visitor, world):
    lock_out(client, app)
    auth.login_as(world.user("county_staff"))
    assert client.post(f"/auth/users/{visitor.id}/unlock").status_code == 403
    assert reload(visitor).is_locked()


# --- where to go after signing in ---------------------------------------------------------


def test_next_within_the_site_is_followed(client, visitor):
    response = client.post(
        "/auth/login?next=" + quote("/auth/tokens?x=1"),
        data={"username": "Li.Visitor", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.location == "/auth/tokens?x=1"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/auth/login",
        "https://evil.com",
        "http://evil.com/",
        "https:evil.com",
        "javascript:alert(1)",
        "/\\evil.com",  # browsers read a backslash as a slash: //evil.com
        "\\\\evil.com",
        "/\t/evil.com",  # browsers drop tabs and newlines in URLs: //evil.com
        "/\n/evil.com",
        "///evil.com",
        "evil.com",
    ],
)
def test_next_cannot_leave_the_site(client, visitor, target):
    response = client.post(
        "/auth/login?next=" + quote(target, safe=""),
        data={"username": "Li.Visitor", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.location == "/"


def test_sign_in_redirect_of_a_protected_page_comes_back(client, visitor):
    response = client.get("/auth/tokens")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/auth/login"
    response = client.post(response.location, data={"username": "Li.Visitor", "password": PASSWORD})
    assert response.location == "/auth/tokens"


# --- rate limit -------------------------------------------------------------------------


@pytest.fixture
def low_login_limit(app):
    saved = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    yield
    app.config["LOGIN_RATE_LIMIT"] = saved


def test_login_rate_limit_answers_429(client, visitor, low_login_limit):
    statuses = [login(client, "Li.Visitor", "Not-the-password-1").status_code for _ in range(3)]
    assert statuses == [422, 422, 422]
    response = login(client, "Li.Visitor")
    assert response.status_code == 429
    assert signed_in_as(client) is None
    # Refused before the password was checked: the attempt is not counted either.
    assert reload(visitor).failed_logins == 3


def test_login_rate_limit_does_not_count_page_views(client, low_login_limit, visitor):
    for _ in range(5):
        assert client.get("/auth/login").status_code == 200
    assert login(client, "Li.Visitor").status_code == 302


# --- sign out ---------------------------------------------------------------------------


def test_logout_needs_post(client, visitor):
    login(client, "Li.Visitor")
    assert client.get("/auth/logout").status_code == 405
    assert signed_in_as(client) == "Li.Visitor"
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/auth/login"
    assert signed_in_as(client) is None


# --- password change --------------------------------------------------------------------


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        "/auth/password",
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field"),
    [
        ("Not-the-password-1", NEW_PASSWORD, NEW_PASSWORD, "current_password"),
        (PASSWORD, NEW_PASSWORD, "Changed-pass-2028", "confirm_password"),
        (PASSWORD, "short1", "short1", "new_password"),
        (PASSWORD, "onlyletterslong", "onlyletterslong", "new_password"),
        (PASSWORD, "1234567890123", "1234567890123", "new_password"),
        (PASSWORD, PASSWORD, PASSWORD, "new_password"),
    ],
    ids=["wrong-current", "mismatch", "short", "no-digit", "no-letter", "unchanged"],
)
def test_password_change_refusals(client, visitor, current, new, confirm, field):
    login(client, "Li.Visitor")
    before = reload(visitor).password_hash
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert re.search(rf'class="form-control is-invalid" id="f-{field}"', body), field
    user = reload(visitor)
    assert user.password_hash == before
    assert signed_in_as(client) == "Li.Visitor"


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, visitor):
    other = app.test_client()
    login(client, "Li.Visitor")
    login(other, "Li.Visitor", remember="1")
    assert signed_in_as(other) == "Li.Visitor"
    before = reload(visitor).password_hash

    response = change(client)
    assert response.status_code == 302

    user = reload(visitor)
    assert user.password_hash != before
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert not verify_password(user.password_hash, PASSWORD)
    assert signed_in_as(client) == "Li.Visitor"
    assert signed_in_as(other) is None


def test_remember_cookie_of_another_device_stops_working(app, client, visitor):
    other = app.test_client()
    login(other, "Li.Visitor", remember="1")
    other.delete_cookie("session")
    assert signed_in_as(other) == "Li.Visitor"  # back in through the remember cookie
    other.delete_cookie("session")

    login(client, "Li.Visitor")
    assert change(client).status_code == 302

    assert signed_in_as(other) is None


def test_new_password_signs_in_and_old_does_not(app, client, visitor):
    login(client, "Li.Visitor")
    change(client)
    fresh = app.test_client()
    assert login(fresh, "Li.Visitor", PASSWORD).status_code == 422
    assert login(fresh, "Li.Visitor", NEW_PASSWORD).status_code == 302


def test_password_page_needs_sign_in(client):
    response = client.get("/auth/password")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/auth/login"


def test_password_change_keeps_this_devices_stay_signed_in(client, visitor):
    login(client, "Li.Visitor", remember="1")
    assert change(client).status_code == 302
    client.delete_cookie("session")  # the browser was closed
    assert signed_in_as(client) == "Li.Visitor"


def test_password_change_without_stay_signed_in_sets_no_remember_cookie(client, visitor):
    login(client, "Li.Visitor")
    response = change(client)
    assert not any(h.startswith("remember_token=") for h in response.headers.getlist("Set-Cookie"))
