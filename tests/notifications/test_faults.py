"""The dispatcher under faults, as real processes: `flask outbox dispatch` killed with SIGKILL
at a chosen point (a hook it stops at, tests/notifications/hooked_dispatcher.py) or stopped
with SIGTERM, against a real SMTP server and committed data. Nothing is lost; a message sent
twice carries the same Message-ID both times, and its history shows both tries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.db import utcnow
from eldercare.core.processes import stop_when
from eldercare.extensions import db
from eldercare.notifications.models import DeliveryAttempt, OutboxMessage
from eldercare.notifications.operations import Notice, notify_many
from eldercare.notifications.tasks import dispatch_outbox
from tests.builders import build_user
from tests.concurrency import committed_app, process_env
from tests.notifications.conftest import free_port, smtp_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOOKED = os.path.join(ROOT, "tests", "notifications", "hooked_dispatcher.py")


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)


@pytest.fixture
def outbox(tmp_path, worker_id):
    """An app on a database of its own with ``n`` e-mails enqueued and committed, its mail
    server's port, and the environment of a dispatcher process on the same database."""
    port = free_port()
    with committed_app(f"outbox_faults_{worker_id}", tmp_path) as app:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=10)
        env = process_env(
            app.config["SQLALCHEMY_DATABASE_URI"],
            tmp_path,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(port),
            OUTBOX_SEND_LEASE_SECONDS="1",
            HOOK_DIR=str(tmp_path),
        )

        def enqueue(n: int) -> list[int]:
            with app.app_context():
                user = build_user("family", email="daughter@example.com")
                notices = [
                    Notice(user.id, f"fault:{i}", f"消息{i}", "正文", channels=("email",))
                    for i in range(n)
                ]
                assert notify_many(notices) == n
                db.session.commit()
                return list(db.session.scalars(sa.select(OutboxMessage.id).order_by("id")))

        yield app, port, env, enqueue


def spawn(env, tmp_path, point: str | None, *args: str) -> subprocess.Popen:
    log = open(tmp_path / "dispatcher.log", "ab")  # noqa: SIM115 (kept by the process)
    command = [sys.executable, HOOKED, *args] if point else [sys.executable, "-m", "flask"]
    if not point:
        command += ["outbox", "dispatch", *args]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, "HOOK_POINT": point or ""},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def state(app, message_id):
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        attempts = db.session.scalars(
            sa.select(DeliveryAttempt.ok)
            .where(DeliveryAttempt.message_id == message_id)
            .order_by(DeliveryAttempt.id)
        ).all()
        return message.status, message.attempts, attempts


def kill(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


@pytest.mark.no_transaction
def test_killed_after_the_server_accepted_sends_again_with_the_same_message_id(outbox, tmp_path):
    app, port, env, enqueue = outbox
    [message_id] = enqueue(1)
    with smtp_server(port) as mailbox:
        dispatcher = spawn(env, tmp_path, "after-accept", "--once")
        try:
            wait_for(lambda: (tmp_path / f"after-accept-{message_id}").exists(), 60, "the hook")
            assert len(mailbox.messages) == 1  # the server has it; the commit has not happened
        finally:
            kill(dispatcher)
        # The attempt was on record before the send: the message is sending, unanswered.
        assert state(app, message_id) == ("sending", 1, [None])
        time.sleep(1.1)  # the lease of the killed dispatcher runs out
        with app.app_context():
            assert dispatch_outbox() == 1
    assert state(app, message_id) == ("sent", 2, [None, True])
    first, second = mailbox.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<outbox.{message_id}.")


@pytest.mark.no_transaction
def test_killed_before_the_send_loses_nothing(outbox, tmp_path):
    app, port, env, enqueue = outbox
    [message_id] = enqueue(1)
    with smtp_server(port) as mailbox:
        dispatcher = spawn(env, tmp_path, "before-send", "--once")
        try:
            wait_for(lambda: (tmp_path / f"before-send-{message_id}").exists(), 60, "the hook")
        finally:
            kill(dispatcher)
        assert state(app, message_id) == ("sending", 1, [None])
        with app.app_context():
            assert dispatch_outbox() == 0  # the lease still holds: nobody sends it at once
        time.sleep(1.1)
        with app.app_context():
            assert dispatch_outbox() == 1
    assert len(mailbox.messages) == 1
    assert state(app, message_id) == ("sent", 2, [None, True])


@pytest.mark.no_transaction
def test_sigterm_stops_the_dispatcher_between_two_messages(outbox, tmp_path):
    app, port, env, enqueue = outbox
    ids = enqueue(4)
    with smtp_server(port) as mailbox:
        dispatcher = spawn(env, tmp_path, "before-send", "--idle", "0.2")
        try:
            wait_for(lambda: (tmp_path / f"before-send-{ids[0]}").exists(), 60, "the hook")
            dispatcher.send_signal(signal.SIGTERM)
            time.sleep(0.3)  # the signal is handled while the first message is on its way
            (tmp_path / "release").touch()
            assert dispatcher.wait(30) == 0
        finally:
            if dispatcher.poll() is None:
                kill(dispatcher)
    assert len(mailbox.messages) == 1  # the message being sent was finished and recorded
    assert state(app, ids[0]) == ("sent", 1, [True])
    assert [state(app, i) for i in ids[1:]] == [("pending", 0, [])] * 3
    assert "outbox dispatcher stopped: 1 sent" in (tmp_path / "dispatcher.log").read_text()


def test_a_stop_asked_between_messages_leaves_the_rest_waiting(app, smtp):
    user = build_user("family", email="son@example.com")
    notices = [
        Notice(user.id, f"stop:{i}", f"第{i}条", "正文", channels=("email",)) for i in (1, 2, 3)
    ]
    assert notify_many(notices) == 3
    db.session.commit()
    checks = []

    def lost_after_one() -> bool:
        checks.append(len(smtp.messages))
        return len(smtp.messages) >= 1

    with stop_when(lost_after_one):
        assert dispatch_outbox() == 1
    assert checks == [0, 1]  # asked before each message
    assert dispatch_outbox() == 2  # the next run (the next leader) sends the rest
    assert len(smtp.messages) == 3


def test_an_attempt_never_answered_is_shown_as_such(app, client, auth):
    user = build_user("family", email="son@example.com")
    notify_many([Notice(user.id, "shown", "提醒", "正文", channels=("email",))])
    message = db.session.scalar(sa.select(OutboxMessage))
    message.status = "sending"
    message.attempts = 1
    message.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.session.add(DeliveryAttempt(message_id=message.id, ok=None, worker="host:1"))
    db.session.commit()
    auth.login_as(build_user("admin"))
    page = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "发送中" in page and "无应答" in page
    assert "发送中" in client.get("/admin/outbox").get_data(as_text=True)


def test_a_message_being_sent_is_not_sent_again_by_hand(app, client, auth):
    user = build_user("family", email="son@example.com")
    notify_many([Notice(user.id, "by-hand", "提醒", "正文", channels=("email",))])
    message = db.session.scalar(sa.select(OutboxMessage))
    message.status, message.attempts = "sending", 1
    message.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    auth.login_as(build_user("admin"))
    response = client.post(f"/admin/outbox/{message.id}/retry", follow_redirects=True)
    assert "正在发送" in response.get_data(as_text=True)
    db.session.refresh(message)
    assert (message.status, message.attempts) == ("sending", 1)
