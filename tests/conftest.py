"""Test harness: one database per run (SQLite file, or PostgreSQL from TEST_DATABASE_URL),
built by the migrations; each test inside a transaction that is rolled back."""

from __future__ import annotations

import contextvars
import os
import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from eldercare import create_app
from eldercare.core.db import AppSession, day_start, local_zone
from eldercare.extensions import db, limiter

pytest_plugins = ["tests.builders", "tests.chromium"]


def postgres_url_for_worker(base: str, worker_id: str) -> str:
    """A fresh PostgreSQL database per xdist worker (eldercare_test_gw0, ...)."""
    url = make_url(base)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = url.database if worker_id == "master" else f"{url.database}_{worker_id}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def fresh_database_url(name: str, tmp_dir) -> str:
    """An empty database of its own for tests that need committed data: a SQLite file in
    ``tmp_dir``, or (with TEST_DATABASE_URL) a PostgreSQL database <test db>_<name>."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return "sqlite:///" + str(tmp_dir / f"{name}.db")
    url = make_url(base)
    return postgres_url_for_worker(
        url.set(database=f"{url.database}_{name}").render_as_string(hide_password=False), "master"
    )


def test_database_url(tmp_path_factory, worker_id: str) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        return postgres_url_for_worker(base, worker_id)
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


class IsolatedClient(FlaskClient):
    """Each request runs with no app context of the test's, as in production: its own
    session, its own ``g`` (so the signed-in user never leaks between requests)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory, worker_id):
    from flask_migrate import upgrade

    url = test_database_url(tmp_path_factory, worker_id)
    application = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            # Evidence files of the run go to a temporary folder, never to instance/.
            "RATING_EVIDENCE_DIR": str(tmp_path_factory.mktemp("evidence")),
        }
    )
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()  # the schema comes from the migrations, never from create_all
    yield application
    with application.app_context():
        db.engine.dispose()


#: Longer than any test takes, even on a busy machine.
MIDNIGHT_MARGIN = timedelta(minutes=5)


def wait_before(now: datetime) -> float:
    """Seconds a test starting at ``now`` waits so that it runs on one county day: the
    application asks for today during the test, and the test's "today" must be the same."""
    local = now.astimezone(local_zone())
    midnight = day_start(local.date() + timedelta(days=1))
    left = midnight - now
    return left.total_seconds() + 1 if left < MIDNIGHT_MARGIN else 0.0


@pytest.fixture(autouse=True)
def _one_county_day():
    """A test that would straddle the county's midnight starts just after it instead (with
    tests/test_dates_at_test_time.py, which keeps dates from being read at import)."""
    pause = wait_before(datetime.now(local_zone()))
    if pause:
        time.sleep(pause)


@pytest.fixture(autouse=True)
def _transaction(request, app):
    """Bind every session of the test (its own and each request's) to one connection inside
    a transaction that is rolled back at the end."""
    if "no_transaction" in request.keywords:
        yield
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": AppSession}
        )
        limiter.reset()
        try:
            yield connection
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_app(app):
    """The app with CSRF checking on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False
