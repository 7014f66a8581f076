"""The outbox dispatcher, run by the scheduler every ~20 seconds (and by ``flask outbox
dispatch`` processes, as many as wanted): sends due messages, records every attempt before it
is made, retries on the schedule of OUTBOX_RETRY_SCHEDULE and gives up after its last wait."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from eldercare.core.db import utcnow
from eldercare.core.processes import stop_requested
from eldercare.extensions import db
from eldercare.notifications.channels import DeliveryError, send
from eldercare.notifications.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from eldercare.notifications.signals import stale_reason

ERROR_LENGTH = 500
log = logging.getLogger("eldercare.outbox")


def retry_wait(attempts: int) -> timedelta | None:
    """The wait after the ``attempts``-th failed attempt, or None when the schedule is spent
    (the message is dead)."""
    schedule = current_app.config["OUTBOX_RETRY_SCHEDULE"]
    if attempts < 1 or attempts > len(schedule):
        return None
    return timedelta(seconds=schedule[attempts - 1])


def max_attempts() -> int:
    """Attempts before a message is dead: the first, then one after each wait."""
    return len(current_app.config["OUTBOX_RETRY_SCHEDULE"]) + 1


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def _claim_next(now: datetime, real_now: datetime) -> OutboxMessage | None:
    """The oldest due message, locked for this transaction: one waiting whose time has come
    (by the dispatcher's clock ``now``), or one left sending whose lease ran out (by the real
    clock: its dispatcher died during the send). On PostgreSQL SKIP LOCKED passes over rows
    another dispatcher (or a cancellation, ``ops.cancel_about``) holds, and a row claimed,
    sent or cancelled and committed meanwhile no longer matches (the condition is checked
    again on the locked row; ``dispatch_outbox`` checks once more). On SQLite the
    transaction's BEGIN IMMEDIATE already made this the only writer."""
    stmt = (
        sa.select(OutboxMessage)
        .where(
            sa.or_(
                sa.and_(
                    OutboxMessage.status == OutboxStatus.PENDING.value,
                    OutboxMessage.next_attempt_at <= now,
                ),
                sa.and_(
                    OutboxMessage.status == OutboxStatus.SENDING.value,
                    OutboxMessage.next_attempt_at <= real_now,
                ),
            )
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


def _still_to_send(message: OutboxMessage, now: datetime, real_now: datetime) -> bool:
    """Read again under the row lock: False (and the message settled) when it is not to be
    sent now: sent or cancelled meanwhile, claimed by another dispatcher, its recipient
    deactivated, or no longer true (``signals.still_true``: the visit was made meanwhile)."""
    if message.is_sending:
        if message.next_attempt_at > real_now:
            return False  # another dispatcher's lease: it is sending it right now
    elif not message.is_pending or message.next_attempt_at > now:
        return False
    if not message.user.active:
        message.status = OutboxStatus.DEAD.value
        message.last_error = "the recipient's account is deactivated"
        return False
    reason = stale_reason(message, now)
    if reason:
        message.status = OutboxStatus.CANCELLED.value
        message.last_error = reason[:ERROR_LENGTH]
        log.info("outbox %s: not sent, no longer true: %s", message.id, reason)
        return False
    return True


def _record_start(message: OutboxMessage, worker: str) -> tuple[OutboxMessage, int, int]:
    """The attempt, on record before the send: the message marked sending for the lease, an
    attempt with no answer yet, committed (the row lock released). A copy of the message as
    it is sent (outside the session: nothing to read again after the commit), the attempt's
    id and the number of attempts."""
    lease = timedelta(seconds=current_app.config["OUTBOX_SEND_LEASE_SECONDS"])
    at = utcnow()
    attempt = DeliveryAttempt(message_id=message.id, attempted_at=at, ok=None, worker=worker)
    db.session.add(attempt)
    message.attempts += 1
    message.status = OutboxStatus.SENDING.value
    message.next_attempt_at = at + lease
    db.session.flush()
    copy = OutboxMessage(
        **{c.key: getattr(message, c.key) for c in OutboxMessage.__mapper__.column_attrs}
    )
    ids = attempt.id, message.attempts
    db.session.commit()
    return copy, *ids


def _record_result(
    message: OutboxMessage, attempt_id: int, attempts: int, error: str | None, now: datetime
) -> None:
    """The answer, in one short transaction right after the send: the attempt's outcome and
    the message sent, waiting for its next try, or dead. Only our own claim is changed (the
    message still sending on our count of attempts): one taken over by another dispatcher
    after our lease ran out keeps that dispatcher's state, a delivery excepted."""
    table = OutboxMessage.__table__
    at = utcnow()
    db.session.execute(
        sa.update(DeliveryAttempt)
        .where(DeliveryAttempt.id == attempt_id)
        .values(ok=error is None, error=(error or "")[:ERROR_LENGTH])
    )
    ours = table.c.id == message.id
    if error is None:
        db.session.execute(
            sa.update(table)
            .where(ours, table.c.status != OutboxStatus.SENT.value)
            .values(status=OutboxStatus.SENT.value, sent_at=at, last_error="")
        )
    else:
        wait = retry_wait(attempts)
        values = {"last_error": error[:ERROR_LENGTH]}
        if wait is None:
            values["status"] = OutboxStatus.DEAD.value
        else:
            values.update(status=OutboxStatus.PENDING.value, next_attempt_at=now + wait)
        db.session.execute(
            sa.update(table)
            .where(
                ours,
                table.c.status == OutboxStatus.SENDING.value,
                table.c.attempts == attempts,
            )
            .values(**values)
        )
    db.session.commit()


def dispatch_outbox(now: datetime | None = None, limit: int = 100) -> int:
    """Send up to ``limit`` due messages and return how many were sent.

    ``now`` is the dispatcher's clock for what is due and when a retry is due (tests move it);
    the attempts, leases and ``sent_at`` use the real time. For each message: claim it under
    its row lock, check it is still to be sent, record the attempt (status sending, an
    attempt with no answer) and commit; send; record the answer and commit. Before each
    message it asks ``stop_requested()`` (SIGTERM, or the scheduler's leadership lost) and
    returns if so. Commits its own work: call it with nothing of the caller's pending.

    Guarantee: **at least once, with a stable id per message, and exactly once unless the
    process or the database fails between the channel accepting a message and the commit
    that records it.** Nothing is lost: a message whose dispatcher died during the send stays
    sending, with an attempt that has no answer, until its lease (OUTBOX_SEND_LEASE_SECONDS)
    runs out, then it is sent again. Two dispatchers never send the same message at once:
    each claims it under the row lock, and a live lease keeps it. The window left, between
    the channel's acceptance and the commit of the answer, is one short UPDATE; no sender
    can close it alone. Each e-mail carries the same Message-ID and each SMS the same
    Idempotency-Key header on every attempt, so that mail software and the gateway can
    recognise a copy, and the delivery history shows both tries.
    """
    now = now or utcnow()
    worker = worker_name()
    sent = 0
    for _ in range(limit):
        if stop_requested():
            log.info("outbox: asked to stop; the rest waits for the next run")
            break
        real_now = utcnow()
        message = _claim_next(now, real_now)
        if message is None:
            break
        if not _still_to_send(message, now, real_now):
            db.session.commit()
            continue
        message, attempt_id, attempts = _record_start(message, worker)
        error = _attempt(message)
        try:
            _record_result(message, attempt_id, attempts, error, now)
        except SQLAlchemyError:
            db.session.rollback()
            if error is None:
                current_app.logger.error(
                    "outbox %s was delivered but its state could not be saved: it will be"
                    " sent again when its lease ends",
                    message.id,
                )
            raise
        if error is None:
            sent += 1
    db.session.commit()  # ends the transaction of the last (empty) claim
    return sent
