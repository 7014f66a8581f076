"""The migrations build an empty database up to head, match the models (``flask db check``),
and go down to nothing and up again, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from eldercare import create_app
from eldercare.core.db import render_migration_item
from eldercare.extensions import db

APP_TABLES = {
    "region",
    "facility",
    "person",
    "user_account",
    "ability_assessment",
    "api_token",
    "audit_log",
    "family_link",
}


def _sqlite_url(tmp_path) -> str:
    return "sqlite:///" + str(tmp_path / "fresh.db")


def _postgres_url():
    """A brand-new database <test db>_migrations next to the test database."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return None
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.set(database=f"{url.database}_migrations")


def _admin_engine(url):
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    url = _postgres_url()
    if url is None:
        pytest.skip("PostgreSQL: set TEST_DATABASE_URL")
    name = url.database
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _diff(connection) -> list:
    """What ``flask db check`` compares: the models against the live schema."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "render_as_batch": True,
            "render_item": render_migration_item,
        },
    )
    return compare_metadata(context, db.metadata)


def _tables(connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


def _head(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@pytest.mark.no_transaction
def test_migrations_build_an_empty_database_to_head_matching_the_models(empty_database):
    fresh = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": empty_database})
    with fresh.app_context():
        try:
            with db.engine.connect() as conn:
                assert _tables(conn) == set()

            upgrade()
            with db.engine.connect() as conn:
                assert _tables(conn) >= APP_TABLES
                head = _head(conn)
                assert head is not None
                assert _diff(conn) == []

            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert _tables(conn) - {"alembic_version"} == set()
                assert _head(conn) is None

            upgrade()
            with db.engine.connect() as conn:
                assert _head(conn) == head
                assert _diff(conn) == []
                # The append-only guard of the audit log is back after the round trip.
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_log (at, actor_name, actor_role, action, entity_type,"
                        " changes, ip, user_agent, note)"
                        " VALUES (:at, 'x', '', 't', '', '{}', '', '', '')"
                    ),
                    {"at": "2026-01-01 00:00:00"},
                )
                with pytest.raises(sa.exc.DBAPIError):
                    conn.execute(sa.text("DELETE FROM audit_log"))
                conn.rollback()
        finally:
            db.engine.dispose()


@pytest.mark.no_transaction
def test_diff_finds_a_model_the_migrations_lack(tmp_path):
    """The check itself can fail: a table only in the models is reported."""
    fresh = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": _sqlite_url(tmp_path)})
    with fresh.app_context():
        try:
            upgrade()
            extra = sa.Table(
                "not_migrated", db.metadata, sa.Column("id", sa.Integer, primary_key=True)
            )
            try:
                with db.engine.connect() as conn:
                    diff = _diff(conn)
            finally:
                db.metadata.remove(extra)
            assert [d[0] for d in diff] == ["add_table"]
        finally:
            db.engine.dispose()
