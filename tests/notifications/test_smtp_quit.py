"""Issue 20: the server's 250 to DATA is delivery. A failure after it (QUIT answered with 451,
the connection dropped) is logged, and the message is sent, never sent again; a refusal of
DATA itself is still a failure that is retried."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, syntax

from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.notifications.tasks import dispatch_outbox
from tests.notifications.conftest import Mailbox
from tests.notifications.test_dispatch import attempts_of, enqueue, recipient


@pytest.fixture
def caplog(caplog, app, monkeypatch):
    """caplog, with the app's log on: the migrations' logging.config.fileConfig (run by a
    committed app in this process, tests/concurrency.py) disables every existing logger."""
    monkeypatch.setattr(app.logger, "disabled", False)
    caplog.set_level(logging.WARNING, logger=app.logger.name)
    return caplog


class QuitAnswered451(SMTP):
    """Takes the message (250 to DATA), then answers QUIT with a temporary failure."""

    @syntax("QUIT")
    async def smtp_QUIT(self, arg: str):
        await self.push("451 4.3.0 try again")
        self._handler_coroutine.cancel()
        self.transport.close()


class DropsAtQuit(SMTP):
    """Takes the message, then closes the connection without answering QUIT."""

    @syntax("QUIT")
    async def smtp_QUIT(self, arg: str):
        self._handler_coroutine.cancel()
        self.transport.close()


class Refuses:
    """aiosmtpd handler that refuses every DATA with 554 and counts the tries."""

    def __init__(self):
        self.tries = 0

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        return "554 5.6.0 message refused"


@contextmanager
def server(port: int, handler, smtp_class=SMTP) -> Iterator:
    class _Controller(Controller):
        def factory(self):
            return smtp_class(self.handler, **self.SMTP_kwargs)

    controller = _Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def _delivered_once_and_never_again(mail_port, smtp_class, caplog):
    user = recipient()
    message = enqueue(user)
    now = utcnow()
    with server(mail_port, Mailbox(), smtp_class) as mailbox:
        assert dispatch_outbox(now=now) == 1
        assert len(mailbox.messages) == 1 and mailbox.recipients == [[user.email]]
        db.session.refresh(message)
        assert message.status == "sent" and message.attempts == 1
        assert message.last_error == "" and message.sent_at is not None
        [attempt] = attempts_of(message)
        assert attempt.ok and attempt.error == ""
        # Later runs, even well past any retry time, deliver nothing more.
        assert dispatch_outbox(now=now + timedelta(minutes=2)) == 0
        assert dispatch_outbox(now=now + timedelta(days=2)) == 0
        assert len(mailbox.messages) == 1
    db.session.refresh(message)
    assert message.status == "sent" and message.attempts == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"outbox {message.id}" in r.getMessage() for r in warnings)
    return warnings


def test_451_to_quit_after_the_message_was_accepted_is_delivery(app, mail_port, caplog):
    warnings = _delivered_once_and_never_again(mail_port, QuitAnswered451, caplog)
    assert any("451" in r.getMessage() for r in warnings)


def test_a_connection_dropped_at_quit_after_acceptance_is_delivery(app, mail_port, caplog):
    _delivered_once_and_never_again(mail_port, DropsAtQuit, caplog)


def test_a_refused_data_is_a_failure_and_retried(app, mail_port):
    message = enqueue(recipient())
    now = utcnow()
    with server(mail_port, Refuses()) as refusing:
        assert dispatch_outbox(now=now) == 0
        db.session.refresh(message)
        assert message.status == "pending" and message.attempts == 1
        assert message.next_attempt_at == now + timedelta(seconds=60)
        assert "554" in message.last_error
        assert dispatch_outbox(now=now + timedelta(seconds=61)) == 0  # retried, refused again
        assert refusing.tries == 2
    db.session.refresh(message)
    assert message.status == "pending" and message.attempts == 2
    assert [a.ok for a in attempts_of(message)] == [False, False]

    with server(mail_port, Mailbox()) as mailbox:
        assert dispatch_outbox(now=now + timedelta(hours=1)) == 1
        assert dispatch_outbox(now=now + timedelta(days=1)) == 0
    assert len(mailbox.messages) == 1
    db.session.refresh(message)
    assert message.status == "sent" and message.attempts == 3
