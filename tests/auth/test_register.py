"""Family self-registration: by phone or e-mail, the app's password rules, duplicates refused
with nothing written, rate limited per address, CSRF checked, signed in on success."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.auth.operations import REGISTER_IN_USE
from eldercare.auth.passwords import verify_password
from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from tests.builders import PASSWORD

GOOD_PASSWORD = "Family-pass-2026"


def form(**kw) -> dict:
    data = {
        "display_name": "王小明",
        "phone": "13912345678",
        "email": "",
        "password": GOOD_PASSWORD,
        "confirm_password": GOOD_PASSWORD,
    }
    data.update(kw)
    return data


def register(client, **kw):
    return client.post("/auth/register", data=form(**kw))


def signed_in_as(client) -> str | None:
    response = client.get("/api/v1/auth/me")
    return None if response.status_code == 401 else response.get_json()["username"]


def user_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def registered(action: str = "user.registered") -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def field_errors(response, field: str) -> str:
    html = response.get_data(as_text=True)
    match = re.search(
        rf'id="f-{field}".*?<div class="invalid-feedback[^"]*">(.*?)</div>', html, re.S
    )
    assert match, f"no error under {field}"
    return unescape(match.group(1)).strip()


def translated(app, message) -> str:
    """A message as the default (Chinese) locale words it."""
    with app.test_request_context():
        return str(message)


# --- success ------------------------------------------------------------------------------


def test_register_by_phone_signs_in_and_asks_for_a_link(client):
    response = register(client)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/people/links/request"
    user = db.session.scalar(sa.select(User).where(User.phone == "13912345678"))
    assert user.role == "family"
    assert user.display_name == "王小明"
    assert user.email is None
    assert user.region_id is None and user.facility_id is None
    assert verify_password(user.password_hash, GOOD_PASSWORD)
    assert signed_in_as(client) == user.username
    assert client.get("/people/links/request").status_code == 200
    [entry] = registered()
    assert entry.entity_id == user.id and entry.actor_id == user.id
    assert "13912345678" not in str(entry.changes)


def test_register_by_email_derives_a_user_name(client, make_user):
    make_user("admin", username="wang.ming")  # the e-mail's local part is taken
    response = register(client, phone="", email="wang.ming@example.cn")
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "wang.ming@example.cn"))
    assert user.phone is None
    assert user.username != "wang.ming" and user.username.startswith("wang.ming")
    # Signing in works with the e-mail address.
    client.post("/auth/logout")
    login = client.post(
        "/auth/login", data={"username": "wang.ming@example.cn", "password": GOOD_PASSWORD}
    )
    assert login.status_code == 302
    assert signed_in_as(client) == user.username


def test_the_new_account_sees_nobody_before_verification(client, world):
    register(client)
    assert client.get(f"/people/{world.person_a.id}").status_code == 404
    assert client.get("/api/v1/people/relatives").get_json() == []


def test_sign_in_page_links_to_registration(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/register"' in html
    assert client.get("/auth/register").status_code == 200


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "sent", "field"),
    [
        ({"phone": "13912345678"}, {}, "phone"),
        ({"email": "li@example.cn"}, {"phone": "", "email": "LI@example.cn"}, "email"),
        ({"username": "13912345678"}, {}, "phone"),  # a user name that signs in the same
    ],
)
def test_phone_or_email_in_use_is_refused_and_nothing_written(
    app, client, make_user, existing, sent, field
):
    make_user("admin", **existing)
    before = user_count()
    response = register(client, **sent)
    assert response.status_code == 409
    assert field_errors(response, field) == translated(app, REGISTER_IN_USE[field])
    assert user_count() == before
    assert registered() == []
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short1", "confirm_password": "short1"}, "password"),
        ({"password": "onlyletters", "confirm_password": "onlyletters"}, "password"),
        ({"password": "1234567890", "confirm_password": "1234567890"}, "password"),
        ({"confirm_password": "Family-pass-2027"}, "confirm_password"),
        ({"phone": "", "email": ""}, "phone"),
        ({"phone": "1391234567"}, "phone"),  # 10 digits
        ({"phone": "23912345678"}, "phone"),  # not a mobile number
        ({"phone": "", "email": "not-an-address"}, "email"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_invalid_forms_are_refused(client, changes, field):
    response = register(client, **changes)
    assert response.status_code == 422
    assert f'class="form-control is-invalid" id="f-{field}"' in response.get_data(as_text=True)
    assert registered() == []
    assert GOOD_PASSWORD not in response.get_data(as_text=True)


def test_signed_in_user_is_sent_home(client, auth, make_user):
    auth.login_as(make_user("family"))
    assert urlsplit(client.get("/auth/register").location).path == "/"
    before = user_count()
    response = register(client, phone="13700000000")
    assert urlsplit(response.location).path == "/"
    assert user_count() == before


# --- rate limit and CSRF ------------------------------------------------------------------


@pytest.fixture
def low_register_limit(app):
    saved = app.config["REGISTER_RATE_LIMIT"]
    app.config["REGISTER_RATE_LIMIT"] = "2 per minute"
    yield
    app.config["REGISTER_RATE_LIMIT"] = saved


def test_registration_is_rate_limited_per_address(client, low_register_limit):
    for _ in range(3):
        assert client.get("/auth/register").status_code == 200  # page views do not count
    assert register(client, phone="1", email="").status_code == 422
    assert register(client, phone="2", email="").status_code == 422
    response = register(client)
    assert response.status_code == 429
    assert registered() == []


def test_registration_needs_the_csrf_token(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/auth/register", data=form())
    assert response.status_code == 400
    assert registered() == []
    page = client.get("/auth/register")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    response = client.post("/auth/register", data={**form(), "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert len(registered()) == 1


def test_existing_accounts_are_untouched_by_a_refused_registration(client, make_user):
    other = make_user("admin", phone="13912345678")
    register(client, password=GOOD_PASSWORD)
    db.session.expire_all()
    assert verify_password(db.session.get(User, other.id).password_hash, PASSWORD)


def test_a_number_in_use_is_told_in_chinese(client, make_user):
    make_user("admin", phone="13912345678")
    response = register(client)
    assert response.status_code == 409
    assert "该手机号码已注册" in response.get_data(as_text=True)
