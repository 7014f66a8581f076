"""The audit log: entries for sign-ins and changes with masked values, append-only in the
database itself, and visible only inside the reader's scope."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.auth import operations as auth_ops
from eldercare.core import audit
from eldercare.core.audit import AuditLog
from eldercare.core.permissions import visible
from eldercare.extensions import db
from eldercare.people import operations as people_ops
from tests.builders import PASSWORD

NUMBER = "61032219500601005X"


def entries(action: str | None = None) -> list[AuditLog]:
    db.session.expire_all()
    stmt = sa.select(AuditLog).order_by(AuditLog.id)
    if action is not None:
        stmt = stmt.where(AuditLog.action == action)
    return list(db.session.scalars(stmt))


def raw_changes(entry_id: int) -> str:
    """The changes column as the database holds it (what a dump would show)."""
    value = db.session.execute(
        sa.text("SELECT changes FROM audit_log WHERE id = :id"), {"id": entry_id}
    ).scalar_one()
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# --- what is written --------------------------------------------------------------------


def test_sign_in_is_recorded_with_actor_and_origin(client, make_user):
    user = make_user("admin", username="auditor")
    response = client.post(
        "/auth/login",
        data={"username": "auditor", "password": PASSWORD},
        headers={"User-Agent": "Field-Phone/1.0"},
    )
    assert response.status_code == 302
    [entry] = entries("auth.login")
    assert entry.actor_id == user.id
    assert entry.actor_name == "auditor"
    assert entry.actor_role == "admin"
    assert entry.entity_type == "User" and entry.entity_id == user.id
    assert entry.ip == "127.0.0.1"
    assert entry.user_agent == "Field-Phone/1.0"
    assert entry.at is not None and entry.at.tzinfo is not None


def test_failed_sign_in_writes_no_login_entry(client, make_user):
    make_user("admin", username="auditor")
    client.post("/auth/login", data={"username": "auditor", "password": "wrong-password-1"})
    assert entries("auth.login") == []


def test_lockout_is_recorded(client, make_user, make_region, app):
    user = make_user("visitor", make_region("610302006201"), username="lockme")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/auth/login", data={"username": "lockme", "password": "wrong-password-1"})
    [entry] = entries("auth.locked")
    assert entry.entity_id == user.id
    assert entry.region_id == user.region_id


def test_password_change_is_recorded_without_any_hash(client, auth, make_user):
    user = make_user("admin")
    auth.login_as(user)
    response = client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Brand-new-pass-42",
            "confirm_password": "Brand-new-pass-42",
        },
    )
    assert response.status_code == 302
    [entry] = entries("auth.password_changed")
    assert entry.actor_id == user.id
    text = raw_changes(entry.id) + entry.note
    assert "argon2" not in text
    assert "Brand-new-pass-42" not in text


def test_user_creation_records_masked_contact_details(world):
    admin = world.user("admin")
    user = auth_ops.create_user(
        {
            "username": "newvisitor",
            "display_name": "王探访",
            "email": "wang.tanfang@example.cn",
            "phone": "13812345678",
            "role": "visitor",
            "region_id": world.village_a.id,
            "password": "Initial-pass-2026",
        },
        by=admin,
    )
    [entry] = entries("user.created")
    assert entry.entity_id == user.id and entry.actor_id == admin.id
    assert entry.changes["username"] == [None, "newvisitor"]
    assert entry.changes["email"] == [None, "***"]
    assert entry.changes["phone"] == [None, "***"]
    text = raw_changes(entry.id)
    for secret in ("wang.tanfang", "13812345678", "Initial-pass-2026", "argon2"):
        assert secret not in text


def test_person_registration_records_the_id_number_masked(world):
    staff = world.user("township_staff")
    person = people_ops.register_person(
        {
            "name": "赵凤英",
            "id_number": NUMBER,
            "region_id": world.village_a.id,
            "phone": "13987654321",
        },
        by=staff,
    )
    [entry] = entries("person.registered")
    assert entry.entity_id == person.id
    assert entry.region_id == world.village_a.id
    assert entry.changes["id_number"] == [None, "610**************X"]
    text = raw_changes(entry.id)
    assert NUMBER not in text and NUMBER[:14] not in text
    assert "13987654321" not in text


def test_record_keeps_only_what_changed_as_plain_values():
    changes = audit.changes_between(
        {"name": "甲", "born": date(1950, 1, 1), "same": 1},
        {"name": "乙", "born": date(1951, 2, 3), "same": 1},
    )
    assert changes == {"born": ["1950-01-01", "1951-02-03"], "name": ["甲", "乙"]}
    entry = audit.record("test.plain", changes=changes, note="x" * 300)
    db.session.flush()
    assert entry.actor_name == "system" and entry.actor_id is None
    assert len(entry.note) == 255
    [stored] = entries("test.plain")
    assert stored.changes == changes


def test_record_takes_region_and_facility_from_the_entity(world):
    entry = audit.record("test.entity", world.facility_a, actor=world.user("admin"))
    assert entry.region_id == world.facility_a.region_id
    entry = audit.record("test.entity", world.user("operator"), actor=world.user("admin"))
    assert entry.facility_id == world.facility_a.id


# --- append-only in the database --------------------------------------------------------


@pytest.fixture
def entry(app):
    entry = audit.record("test.guarded", note="original")
    db.session.flush()
    return entry


def _must_fail(connection, statement: str, entry_id: int) -> None:
    savepoint = connection.begin_nested()
    try:
        with pytest.raises(sa.exc.DBAPIError) as info:
            connection.execute(sa.text(statement), {"id": entry_id})
        assert "append-only" in str(info.value)
    finally:
        savepoint.rollback()


def test_raw_sql_update_is_refused_by_the_database(entry, _transaction):
    _must_fail(_transaction, "UPDATE audit_log SET note = 'forged' WHERE id = :id", entry.id)
    assert [e.note for e in entries("test.guarded")] == ["original"]


def test_raw_sql_delete_is_refused_by_the_database(entry, _transaction):
    _must_fail(_transaction, "DELETE FROM audit_log WHERE id = :id", entry.id)
    assert len(entries("test.guarded")) == 1


def test_truncate_is_refused_on_postgresql(entry, _transaction):
    if _transaction.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _must_fail(_transaction, "TRUNCATE audit_log", entry.id)
    assert len(entries("test.guarded")) == 1


def test_raw_sql_insert_is_allowed(entry, _transaction):
    _transaction.execute(
        sa.text(
            "INSERT INTO audit_log (at, actor_name, actor_role, action, entity_type, changes,"
            " ip, user_agent, note) VALUES (:at, 'x', '', 'test.raw', '', '{}', '', '', '')"
        ),
        {"at": "2026-01-01 00:00:00"},
    )
    assert len(entries("test.raw")) == 1


def test_orm_update_is_refused(entry):
    entry.note = "forged"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_orm_delete_is_refused(entry):
    db.session.delete(entry)
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


# --- who can read it --------------------------------------------------------------------


def test_scope_county_staff_see_their_county_only(world):
    for facility in (world.facility_a, world.facility_b):
        audit.record("test.scope", facility, facility_id=facility.id)
    db.session.flush()

    def seen_by(role):
        stmt = visible(AuditLog, world.user(role)).where(AuditLog.action == "test.scope")
        return {e.facility_id for e in db.session.scalars(stmt)}

    assert seen_by("admin") == {world.facility_a.id, world.facility_b.id}
    assert seen_by("county_staff") == {world.facility_a.id}
    for role in ("township_staff", "visitor", "operator", "family"):
        assert seen_by(role) == set()


def test_audit_page_shows_county_entries_only(client, auth, world):
    audit.record("test.page", world.facility_a, note="in-county-a")
    audit.record("test.page", world.facility_b, note="in-county-b")
    db.session.flush()
    auth.login_as(world.user("county_staff"))
    response = client.get("/audit/?action=test.page")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "in-county-a" in body
    assert "in-county-b" not in body
