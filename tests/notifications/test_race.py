"""Two dispatchers at once on PostgreSQL, each on its own connection, over committed data:
FOR UPDATE SKIP LOCKED hands every message to exactly one of them."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.notifications.models import DeliveryAttempt, OutboxMessage
from eldercare.notifications.operations import Notice, notify_many
from eldercare.notifications.tasks import dispatch_outbox
from tests.builders import build_user
from tests.concurrency import at_once, committed_app
from tests.notifications.conftest import free_port, smtp_server

MESSAGES = 200

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: set TEST_DATABASE_URL"
    ),
]


@pytest.fixture
def committed(tmp_path, worker_id):
    port = free_port()
    with committed_app(f"outbox_race_{worker_id}", tmp_path) as app:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=10)
        with app.app_context():
            users = [build_user("family", email=f"race{i}@example.com") for i in range(20)]
            notices = (
                Notice(users[i % 20].id, f"race:{i}", f"消息{i}", "正文", channels=("email",))
                for i in range(MESSAGES)
            )
            assert notify_many(notices) == MESSAGES
            db.session.commit()
        # A little slow, so that the two dispatchers certainly overlap.
        with smtp_server(port, delay=0.005) as mailbox:
            yield app, mailbox


def _dispatcher(app):
    def run() -> int:
        with app.app_context():  # its own session and connection
            return dispatch_outbox(limit=MESSAGES * 2)

    return run


@pytest.mark.no_transaction
def test_two_dispatchers_deliver_every_message_exactly_once(committed):
    app, mailbox = committed
    results = at_once([_dispatcher(app), _dispatcher(app)])
    assert sum(results) == MESSAGES, results
    assert all(n > 0 for n in results), f"the dispatchers did not overlap: {results}"

    subjects = [m["Subject"] for m in mailbox.messages]
    assert len(subjects) == MESSAGES
    assert sorted(subjects) == sorted(f"消息{i}" for i in range(MESSAGES))
    assert len({m["Message-ID"] for m in mailbox.messages}) == MESSAGES

    with app.app_context():
        statuses = db.session.execute(
            sa.select(OutboxMessage.status, OutboxMessage.attempts, sa.func.count()).group_by(
                OutboxMessage.status, OutboxMessage.attempts
            )
        ).all()
        assert statuses == [("sent", 1, MESSAGES)]
        attempts = db.session.execute(
            sa.select(DeliveryAttempt.ok, sa.func.count()).group_by(DeliveryAttempt.ok)
        ).all()
        assert attempts == [(True, MESSAGES)]
