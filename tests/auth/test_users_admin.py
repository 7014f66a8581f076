"""The administrator's user pages: roles and their scopes, duplicates, deactivation, the
admin's own account, and an audit entry for every change."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.auth import operations as ops
from eldercare.auth.models import User
from eldercare.auth.passwords import verify_password
from eldercare.core.audit import AuditLog
from eldercare.core.errors import AppError
from eldercare.extensions import db
from tests.builders import PASSWORD, Auth

INITIAL = "Initial-pass-2026"


@pytest.fixture
def admin_client(client, auth, world):
    auth.login_as(world.user("admin"))
    return client


def user_named(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == username))


def audit_actions(user_id: int) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.entity_type == "User", AuditLog.entity_id == user_id)
            .order_by(AuditLog.id)
        )
    )


def invalid_fields(response) -> set[str]:
    """Fields the form marks invalid."""
    body = response.get_data(as_text=True)
    return set(re.findall(r'class="form-(?:control|select) is-invalid" id="f-([a-z_]+)"', body))


def new_user(admin_client, **fields):
    data = {"username": "newbie", "display_name": "新人", "password": INITIAL, **fields}
    return admin_client.post(
        "/auth/users/new", data={k: v for k, v in data.items() if v is not None}
    )


def edit_form(user: User, **changes) -> dict:
    form = {
        "display_name": user.display_name,
        "email": user.email or "",
        "phone": user.phone or "",
        "role": user.role,
        "region_id": user.region_id or "",
        "facility_id": user.facility_id or "",
        "active": "1" if user.active else None,
        **changes,
    }
    return {k: v for k, v in form.items() if v is not None}


# --- creating users of every role ---------------------------------------------------------


SCOPES = {
    "admin": lambda w: {},
    "county_staff": lambda w: {"region_id": w.county_a.id},
    "township_staff": lambda w: {"region_id": w.township_a.id},
    "visitor": lambda w: {"region_id": w.village_a.id},
    "operator": lambda w: {"facility_id": w.facility_a.id},
    "family": lambda w: {},
    "assessor": lambda w: {"region_id": w.county_a.id},
}


@pytest.mark.parametrize("role", list(SCOPES))
def test_admin_creates_a_user_of_each_role(admin_client, world, app, role):
    scope = SCOPES[role](world)
    response = new_user(
        admin_client, role=role, email="newbie@example.cn", phone="13900000009", **scope
    )
    assert response.status_code == 302
    user = user_named("newbie")
    assert user is not None
    assert user.role == role
    assert user.region_id == scope.get("region_id")
    assert user.facility_id == scope.get("facility_id")
    assert user.active
    assert user.email == "newbie@example.cn" and user.phone == "13900000009"
    assert verify_password(user.password_hash, INITIAL)
    assert audit_actions(user.id) == ["user.created"]
    # The new account can sign in.
    fresh = app.test_client()
    response = fresh.post("/auth/login", data={"username": "newbie", "password": INITIAL})
    assert response.status_code == 302


def test_visitor_may_work_for_a_whole_township(admin_client, world):
    assert new_user(admin_client, role="visitor", region_id=world.township_a.id).status_code == 302
    assert user_named("newbie").region_id == world.township_a.id


@pytest.mark.parametrize(
    ("role", "scope", "field"),
    [
        ("county_staff", lambda w: {"region_id": w.township_a.id}, "region_id"),
        ("county_staff", lambda w: {"region_id": w.village_a.id}, "region_id"),
        ("county_staff", lambda w: {}, "region_id"),
        ("township_staff", lambda w: {"region_id": w.county_a.id}, "region_id"),
        ("township_staff", lambda w: {"region_id": w.village_a.id}, "region_id"),
        ("visitor", lambda w: {"region_id": w.county_a.id}, "region_id"),
        ("visitor", lambda w: {}, "region_id"),
        ("visitor", lambda w: {"region_id": 999999}, "region_id"),
        ("assessor", lambda w: {"region_id": w.township_a.id}, "region_id"),
        ("assessor", lambda w: {}, "region_id"),
        ("operator", lambda w: {}, "facility_id"),
        ("operator", lambda w: {"facility_id": 999999}, "facility_id"),
        ("operator", lambda w: {"region_id": w.county_a.id}, "facility_id"),
        # Beyond any id column: a field error, not a database error.
        ("visitor", lambda w: {"region_id": 2**31}, "region_id"),
        ("visitor", lambda w: {"region_id": 2**63}, "region_id"),
        ("operator", lambda w: {"facility_id": 2**63}, "facility_id"),
        ("operator", lambda w: {"facility_id": -1}, "facility_id"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_scope_must_match_role(admin_client, world, role, scope, field):
    response = new_user(admin_client, role=role, **scope(world))
    assert response.status_code == 422
    assert field in invalid_fields(response)
    assert user_named("newbie") is None


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("county_staff", lambda w: {"region_id": w.township_a.id}),
        ("township_staff", lambda w: {"region_id": w.county_a.id}),
        ("visitor", lambda w: {"region_id": w.county_a.id}),
        ("assessor", lambda w: {"region_id": w.village_a.id}),
        ("operator", lambda w: {"facility_id": 999999}),
    ],
)
def test_scope_errors_name_the_field_in_the_operation(world, role, scope):
    data = {
        "username": "newbie",
        "display_name": "新人",
        "password": INITIAL,
        "role": role,
        "region_id": None,
        "facility_id": None,
        **scope(world),
    }
    with pytest.raises(AppError) as info:
        ops.create_user(data, by=world.user("admin"))
    assert info.value.code == 422
    expected = "facility_id" if role == "operator" else "region_id"
    assert list(info.value.errors) == [expected]
    assert info.value.errors[expected]


def test_abolished_region_is_not_a_scope(admin_client, world, make_region):
    fengxiang_county = make_region("610322000000", "凤翔县")
    fengxiang_county.abolished_on = date(2021, 2, 3)
    fengxiang_county.successor_code = "610305000000"
    db.session.flush()
    response = new_user(admin_client, role="county_staff", region_id=fengxiang_county.id)
    assert response.status_code == 422
    assert "region_id" in invalid_fields(response)


def test_scope_that_does_not_belong_to_the_role_is_dropped(admin_client, world):
    """Admins, family members and operators get no region; staff get no facility."""
    for role in ("family", "admin"):
        response = new_user(
            admin_client,
            username=f"new_{role}",
            role=role,
            region_id=world.county_a.id,
            facility_id=world.facility_a.id,
        )
        assert response.status_code == 302
        user = user_named(f"new_{role}")
        assert user.region_id is None and user.facility_id is None

    response = new_user(
        admin_client,
        username="newbie2",
        role="operator",
        region_id=world.county_a.id,
        facility_id=world.facility_a.id,
    )
    assert response.status_code == 302
    assert user_named("newbie2").region_id is None

    response = new_user(
        admin_client,
        username="newbie3",
        role="visitor",
        region_id=world.village_a.id,
        facility_id=world.facility_a.id,
    )
    assert response.status_code == 302
    assert user_named("newbie3").facility_id is None


@pytest.mark.parametrize(
    ("fields", "invalid"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "王五"}, "username"),
        ({"password": "short1"}, "password"),
        ({"password": "lettersonlypassword"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"role": "superuser"}, "role"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_invalid_fields_are_422(admin_client, fields, invalid):
    response = new_user(admin_client, **{"role": "family", **fields})
    assert response.status_code == 422
    assert invalid in invalid_fields(response)


# --- duplicates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"username": "w_visitor"}, "username"),
        ({"username": "W_Visitor"}, "username"),
        ({"email": "Taken@Example.cn"}, "email"),
        ({"phone": "13711112222"}, "phone"),
        # Every identifier signs in: none may name another account in another field.
        ({"username": "13711112222"}, "username"),
        ({"username": "taken@example.cn"}, "username"),
        ({"email": "Mail.Like@example.cn"}, "email"),
    ],
)
def test_duplicates_are_refused_with_a_message(admin_client, world, fields, field):
    visitor = world.user("visitor")
    visitor.email = "taken@example.cn"
    visitor.phone = "13711112222"
    world.user("family").username = "mail.like@example.cn"  # user names may contain @
    db.session.flush()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = new_user(admin_client, role="family", **fields)
    assert response.status_code == 409
    assert field in invalid_fields(response)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == count


def test_duplicate_is_a_conflict_in_the_operation(world):
    data = {"username": "w_visitor", "display_name": "x", "password": INITIAL, "role": "family"}
    with pytest.raises(AppError) as info:
        ops.create_user(data, by=world.user("admin"))
    assert info.value.code == 409
    assert info.value.errors["username"]


def test_email_of_another_account_cannot_be_taken_on_edit(admin_client, world):
    world.user("visitor").email = "taken@example.cn"
    db.session.flush()
    family = world.user("family")
    response = admin_client.post(
        f"/auth/users/{family.id}", data=edit_form(family, email="TAKEN@example.cn")
    )
    assert response.status_code == 409
    assert "email" in invalid_fields(response)


def test_a_user_keeps_its_own_identifiers_on_edit(admin_client, world):
    visitor = world.user("visitor")
    visitor.email = "mine@example.cn"
    db.session.flush()
    response = admin_client.post(
        f"/auth/users/{visitor.id}", data=edit_form(visitor, display_name="新名字")
    )
    assert response.status_code == 302
    assert user_named("w_visitor").display_name == "新名字"


# --- editing, deactivating --------------------------------------------------------------


def test_deactivating_a_user_ends_its_sessions(admin_client, app, world):
    visitor = world.user("visitor")
    theirs = app.test_client()
    response = theirs.post("/auth/login", data={"username": "w_visitor", "password": PASSWORD})
    assert response.status_code == 302
    assert theirs.get("/api/v1/auth/me").status_code == 200

    response = admin_client.post(f"/auth/users/{visitor.id}", data=edit_form(visitor, active=None))
    assert response.status_code == 302

    user = user_named("w_visitor")
    assert not user.active
    assert theirs.get("/api/v1/auth/me").status_code == 401
    response = theirs.post("/auth/login", data={"username": "w_visitor", "password": PASSWORD})
    assert response.status_code == 422
    assert audit_actions(visitor.id)[-1] == "user.updated"
    entry = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.entity_id == visitor.id).order_by(AuditLog.id.desc())
    ).first()
    assert entry.changes["active"] == [True, False]


def test_reactivating_lets_the_user_back_in(admin_client, app, world):
    visitor = world.user("visitor")
    visitor.active = False
    db.session.flush()
    response = admin_client.post(f"/auth/users/{visitor.id}", data=edit_form(visitor, active="1"))
    assert response.status_code == 302
    theirs = app.test_client()
    response = theirs.post("/auth/login", data={"username": "w_visitor", "password": PASSWORD})
    assert response.status_code == 302


def test_changing_role_or_resetting_password_ends_sessions(admin_client, app, world):
    visitor = world.user("visitor")
    theirs = app.test_client()
    Auth(theirs).login_as(visitor)
    assert theirs.get("/api/v1/auth/me").status_code == 200
    response = admin_client.post(
        f"/auth/users/{visitor.id}",
        data=edit_form(visitor, role="township_staff", region_id=world.township_a.id),
    )
    assert response.status_code == 302
    assert theirs.get("/api/v1/auth/me").status_code == 401

    Auth(theirs).login_as(user_named("w_visitor"))
    assert theirs.get("/api/v1/auth/me").status_code == 200
    response = admin_client.post(
        f"/auth/users/{visitor.id}",
        data=edit_form(user_named("w_visitor"), new_password="Reset-by-admin-1"),
    )
    assert response.status_code == 302
    assert theirs.get("/api/v1/auth/me").status_code == 401
    user = user_named("w_visitor")
    assert verify_password(user.password_hash, "Reset-by-admin-1")
    entry = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.entity_id == visitor.id).order_by(AuditLog.id.desc())
    ).first()
    assert "password" in entry.changes
    assert "Reset-by-admin-1" not in str(entry.changes)


def test_display_name_change_keeps_sessions(admin_client, app, world):
    visitor = world.user("visitor")
    theirs = app.test_client()
    Auth(theirs).login_as(visitor)
    response = admin_client.post(
        f"/auth/users/{visitor.id}", data=edit_form(visitor, display_name="改名")
    )
    assert response.status_code == 302
    assert theirs.get("/api/v1/auth/me").status_code == 200


def test_edit_checks_the_scope_too(admin_client, world):
    visitor = world.user("visitor")
    response = admin_client.post(
        f"/auth/users/{visitor.id}", data=edit_form(visitor, role="county_staff")
    )
    assert response.status_code == 422
    assert "region_id" in invalid_fields(response)
    assert user_named("w_visitor").role == "visitor"


@pytest.mark.parametrize(
    "changes",
    [{"role": "county_staff", "region_id": "COUNTY"}, {"role": "family"}, {"active": None}],
    ids=["to-county-staff", "to-family", "deactivate"],
)
def test_admin_cannot_remove_own_admin_role_or_disable_itself(admin_client, world, changes):
    admin = world.user("admin")
    if changes.get("region_id") == "COUNTY":
        changes = {**changes, "region_id": world.county_a.id}
    response = admin_client.post(f"/auth/users/{admin.id}", data=edit_form(admin, **changes))
    assert response.status_code == 422
    assert "alert-danger" in response.get_data(as_text=True)
    user = user_named("w_admin")
    assert user.role == "admin" and user.active
    assert audit_actions(admin.id) == []
    # Still an administrator.
    assert admin_client.get("/auth/users").status_code == 200


def test_admin_may_edit_own_name(admin_client, world):
    admin = world.user("admin")
    response = admin_client.post(
        f"/auth/users/{admin.id}", data=edit_form(admin, display_name="总管理员")
    )
    assert response.status_code == 302
    assert user_named("w_admin").display_name == "总管理员"
    assert admin_client.get("/auth/users").status_code == 200


def test_another_admin_may_be_demoted(admin_client, make_user, world):
    other = make_user("admin", username="second_admin")
    response = admin_client.post(
        f"/auth/users/{other.id}",
        data=edit_form(other, role="county_staff", region_id=world.county_a.id),
    )
    assert response.status_code == 302
    assert user_named("second_admin").role == "county_staff"


@pytest.mark.parametrize("user_id", [999999, 2**31, 2**63])
def test_edit_of_a_missing_user_is_404(admin_client, user_id):
    assert admin_client.get(f"/auth/users/{user_id}").status_code == 404
    assert admin_client.post(f"/auth/users/{user_id}", data={}).status_code == 404
    assert admin_client.post(f"/auth/users/{user_id}/unlock").status_code == 404


# --- the audit trail --------------------------------------------------------------------


def test_every_change_creates_an_audit_entry(admin_client, world):
    admin = world.user("admin")
    new_user(admin_client, role="visitor", region_id=world.village_a.id)
    user = user_named("newbie")
    admin_client.post(f"/auth/users/{user.id}", data=edit_form(user, display_name="改"))
    admin_client.post(f"/auth/users/{user.id}", data=edit_form(user_named("newbie"), active=None))
    admin_client.post(f"/auth/users/{user.id}/unlock")
    assert audit_actions(user.id) == [
        "user.created",
        "user.updated",
        "user.updated",
        "user.unlocked",
    ]
    db.session.expire_all()
    entries = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.entity_id == user.id).order_by(AuditLog.id)
    ).all()
    assert {e.actor_id for e in entries} == {admin.id}
    assert entries[1].changes == {"display_name": ["新人", "改"]}
    assert entries[0].region_id == world.village_a.id


def test_refused_changes_write_no_audit_entry(admin_client, world):
    visitor = world.user("visitor")
    admin_client.post(f"/auth/users/{visitor.id}", data=edit_form(visitor, role="county_staff"))
    new_user(admin_client, role="county_staff", region_id=world.village_a.id)
    assert audit_actions(visitor.id) == []
    db.session.expire_all()
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "user.created")
        )
        == 0
    )


# --- the list ---------------------------------------------------------------------------


def test_user_list_searches_and_filters(admin_client, world):
    body = admin_client.get("/auth/users?q=w_vis").get_data(as_text=True)
    assert "w_visitor" in body and "w_county" not in body
    body = admin_client.get("/auth/users?role=operator").get_data(as_text=True)
    assert "w_operator" in body and "w_visitor" not in body
