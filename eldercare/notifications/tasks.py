"""The outbox dispatcher, run by the scheduler every ~20 seconds: sends due messages, records
every attempt, retries with exponential back-off and gives up after OUTBOX_MAX_ATTEMPTS."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.notifications.channels import DeliveryError, send
from eldercare.notifications.models import DeliveryAttempt, OutboxMessage, OutboxStatus

MAX_BACKOFF = timedelta(hours=6)
ERROR_LENGTH = 500


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: base * 2**(attempts - 1), at most 6 hours."""
    base = current_app.config["OUTBOX_RETRY_BASE_SECONDS"]
    exponent = min(max(attempts - 1, 0), 32)  # the cap is reached long before; no huge ints
    return min(timedelta(seconds=base * 2**exponent), MAX_BACKOFF)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def _claim_next(now: datetime) -> OutboxMessage | None:
    """The oldest due message, locked for this transaction. On PostgreSQL SKIP LOCKED passes
    over rows another dispatcher (or a cancellation, ``ops.cancel_about``) holds, and a row
    sent or cancelled and committed meanwhile no longer matches (the condition is checked
    again on the locked row; ``dispatch_outbox`` checks the status once more). On SQLite
    the transaction's BEGIN IMMEDIATE already made this the only writer."""
    stmt = (
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(stmt).first()


def _attempt(message: OutboxMessage) -> str | None:
    """Send the message; None when the channel took it, else what went wrong."""
    try:
        send(message)
    except DeliveryError as err:
        return str(err) or type(err).__name__
    except Exception as err:  # a bug must not stop the queue behind this message
        current_app.logger.exception("outbox %s: unexpected error while sending", message.id)
        return f"{type(err).__name__}: {err}"
    return None


def dispatch_outbox(now: datetime | None = None, limit: int = 100) -> int:
    """Send up to ``limit`` due messages, one per transaction, and return how many were sent.

    ``now`` is the dispatcher's clock for what is due and when a retry is due (tests move it);
    the attempts and ``sent_at`` record the real time. Each message is locked, sent, its
    attempt recorded and its new state (sent / retry at now + back-off / dead after
    OUTBOX_MAX_ATTEMPTS failures) committed before the next one is claimed. Commits its own
    work: call it with nothing of the caller's pending in the session.

    Guarantee: **at least once, and exactly once unless the database fails between the
    channel accepting a message and the commit that records it.** A failed send, a crash or
    a lost connection before the commit leaves the message pending (PostgreSQL releases the
    row lock with the connection), so nothing is ever lost. Two dispatchers never send the
    same message, since each holds the row it sends. The one window left: the SMTP server or
    the SMS gateway accepted the message and the commit then failed (database gone, process
    killed). No protocol closes it without the channel's help: marking the row 'sending' in
    a commit of its own first would trade the duplicate for a possible loss. The message is
    then sent again on a later run; e-mails carry the same Message-ID each time so that mail
    software can recognise the copy. Such a commit failure is logged and re-raised.
    """
    now = now or utcnow()
    max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
    worker = worker_name()
    sent = 0
    for _ in range(limit):
        message = _claim_next(now)
        if message is None:
            break
        if not message.is_pending:
            # Read again under the row lock: a message cancelled (the person it is about
            # died) or sent by another dispatcher while the claim waited is never sent.
            db.session.commit()
            continue
        if not message.user.active:
            # Deactivated after the message was enqueued: it is not theirs to receive anymore.
            message.status = OutboxStatus.DEAD.value
            message.last_error = "the recipient's account is deactivated"
            db.session.commit()
            continue
        message_id = message.id
        error = _attempt(message)
        at = utcnow()
        message.attempts += 1
        db.session.add(
            DeliveryAttempt(
                message_id=message_id,
                attempted_at=at,
                ok=error is None,
                error=(error or "")[:ERROR_LENGTH],
                worker=worker,
            )
        )
        if error is None:
            message.status = OutboxStatus.SENT.value
            message.sent_at = at
            message.last_error = ""
        else:
            message.last_error = error[:ERROR_LENGTH]
            if message.attempts >= max_attempts:
                message.status = OutboxStatus.DEAD.value
            else:
                message.next_attempt_at = now + backoff(message.attempts)
        try:
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            if error is None:
                current_app.logger.error(
                    "outbox %s was delivered but its state could not be saved: it will be"
                    " sent again",
                    message_id,
                )
            raise
        if error is None:
            sent += 1
    db.session.commit()  # ends the transaction of the last (empty) claim
    return sent
