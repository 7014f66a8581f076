"""Wrong passwords sent at the same moment (issue 25, item 1): the failures are counted in the
database one at a time, so that twelve parallel guesses lock the account as five in a row do,
and the right password then opens nothing. Real concurrent sign-ins over committed data (on
PostgreSQL in the suite's second run)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from tests.builders import PASSWORD, build_user
from tests.concurrency import at_once, committed_app

pytestmark = pytest.mark.no_transaction
GUESSES = 12


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"lockout_race_{worker_id}", tmp_path) as app:
        with app.app_context():
            build_user("family", username="Wang.Family")
            db.session.commit()
        yield app


def _sign_in(app, password: str):
    def attempt() -> int:
        client = app.test_client()
        response = client.post(
            "/auth/login", data={"username": "Wang.Family", "password": password}
        )
        return response.status_code

    return attempt


def _account(app) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "Wang.Family"))
        db.session.expunge(user)
        return user


def _locks(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditLog.action == "auth.locked"))


def test_parallel_wrong_passwords_lock_the_account(committed):
    app = committed
    limit = app.config["LOGIN_MAX_FAILURES"]
    statuses = at_once([_sign_in(app, f"Wrong-guess-{i}") for i in range(GUESSES)])
    assert statuses == [422] * GUESSES
    user = _account(app)
    assert user.is_locked(), f"{GUESSES} parallel guesses left no lock"
    # Every failure was counted: the ``limit``-th locked the account; guesses that read it
    # before the lock was committed count on from 0 (more than ``limit`` of them lock again).
    assert _locks(app) >= 1 and user.failed_logins < limit
    assert _sign_in(app, PASSWORD)() == 422  # the right password opens nothing now


def test_a_lock_holds_against_the_right_password_sent_among_guesses(committed):
    app = committed
    limit = app.config["LOGIN_MAX_FAILURES"]
    at_once([_sign_in(app, f"Wrong-guess-{i}") for i in range(limit)])
    assert _account(app).is_locked()
    calls = [_sign_in(app, PASSWORD), _sign_in(app, "Wrong-again-1")] * 3
    assert at_once(calls) == [422] * 6
    user = _account(app)
    assert user.is_locked() and user.last_login_at is None
