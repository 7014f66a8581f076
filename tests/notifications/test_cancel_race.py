"""A cancellation and a dispatcher at once on PostgreSQL, each on its own connection, over
committed data: a message the dispatcher is sending is sent and not reported cancelled; a
message being cancelled is passed over by the dispatcher and then never sent."""

from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.notifications import operations as ops
from eldercare.notifications import tasks as outbox
from eldercare.notifications.models import OutboxMessage
from eldercare.notifications.operations import Notice, notify_many
from tests.builders import build_person, build_region, build_user
from tests.concurrency import committed_app

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: set TEST_DATABASE_URL"
    ),
]


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"outbox_cancel_{worker_id}", tmp_path) as app:
        with app.app_context():
            village = build_region("610302006201", "马营东村")
            person = build_person(village, name="张秀英")
            user = build_user("visitor", village, email="v@example.test")
            notice = Notice(
                user.id, "race", "逾期探访", "正文", channels=("email",), about_person_id=person.id
            )
            assert notify_many([notice]) == 1
            db.session.commit()
            person_id = person.id
        yield app, person_id


def _status(app) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(OutboxMessage.status))


@pytest.mark.no_transaction
def test_a_message_being_sent_is_not_cancelled_under_the_dispatcher(committed, monkeypatch):
    app, person_id = committed
    holding, sent = threading.Event(), []

    def slow_send(message):
        holding.set()  # the dispatcher holds the row lock now
        assert cancelling.wait(10)
        sent.append(message.id)

    cancelling = threading.Event()
    monkeypatch.setattr(outbox, "send", slow_send)

    def dispatch():
        with app.app_context():
            return outbox.dispatch_outbox()

    results = {}
    dispatcher = threading.Thread(target=lambda: results.setdefault("sent", dispatch()))
    dispatcher.start()
    assert holding.wait(10)
    with app.app_context():
        cancelling.set()  # the UPDATE below waits for the dispatcher's commit
        cancelled = ops.cancel_about(person_id, "cancelled")
        db.session.commit()
    dispatcher.join(10)
    assert results["sent"] == 1 and len(sent) == 1
    assert cancelled == 0 and _status(app) == "sent"


@pytest.mark.no_transaction
def test_a_message_being_cancelled_is_passed_over_and_never_sent(committed, monkeypatch):
    app, person_id = committed
    sent = []
    monkeypatch.setattr(outbox, "send", lambda message: sent.append(message.id))
    with app.app_context():
        assert ops.cancel_about(person_id, "cancelled") == 1  # holds the row, not committed
        with app.app_context():  # another session and connection: a dispatcher
            assert outbox.dispatch_outbox() == 0
        db.session.commit()
    with app.app_context():
        assert outbox.dispatch_outbox() == 0
    assert sent == [] and _status(app) == "cancelled"
