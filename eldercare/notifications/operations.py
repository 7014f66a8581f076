"""Enqueue notices (once per key and channel), read the inbox, and retry failed messages.

``notify`` and ``notify_many`` only add to the session: the caller commits them in the same
transaction as the change that caused the notice, so a notice is never sent about a change
that was rolled back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload

from eldercare.auth.models import User
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict
from eldercare.core.permissions import Role, role_of, visible
from eldercare.extensions import db
from eldercare.notifications.models import (
    KEY_LENGTH,
    Channel,
    OutboxMessage,
    OutboxStatus,
)

#: Rows per INSERT statement: 1,000 rows of 12 columns stay well under the bound-parameter
#: limits of SQLite (32,766) and PostgreSQL (65,535).
CHUNK_ROWS = 1000
SUBJECT_LENGTH = OutboxMessage.__table__.c.subject.type.length
ERROR_LENGTH = OutboxMessage.__table__.c.last_error.type.length
LINK_LENGTH = OutboxMessage.__table__.c.link.type.length
# Browsers read a backslash as a slash and drop control characters: "/\\evil.example" is
# another site.
UNSAFE_IN_LINK = re.compile(r"[\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Notice:
    """One notice for one user. ``key`` names the notice, not only the event: it is unique
    across all users (the channel is appended), so an event told to several people needs
    the recipient in the key, e.g. f"visit-overdue:{visit_id}:{day}:{user_id}"."""

    user_id: int
    key: str  # e.g. "visit-overdue:123:2026-11-30"
    subject: str
    body: str
    link: str = ""
    #: None: in-app always, e-mail if the user has an address, SMS if the user has a phone
    #: and SMS is enabled. Named channels are still skipped when the user cannot receive them.
    channels: tuple[str, ...] | None = None
    #: The registry's person the notice is about (a reminder to visit them...), if one:
    #: what is still waiting for them is cancelled when they die or move away
    #: (``cancel_about``). A notice listing several people names none here.
    about_person_id: int | None = None


def app_link(endpoint: str, **values) -> str:
    """A link inside the application for a notice, also from a scheduled job (no request
    there to build it from)."""
    if has_request_context():
        return url_for(endpoint, **values)
    return current_app.url_map.bind("localhost").build(endpoint, values)


def idempotency_key(key: str, channel: str) -> str:
    """f"{key}:{channel}", with an over-long key shortened to a prefix and its hash, so that
    two different long keys never collide and the same key always maps to the same value."""
    full = f"{key}:{channel}"
    if len(full) <= KEY_LENGTH:
        return full
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    keep = KEY_LENGTH - len(digest) - len(channel) - 2
    return f"{key[:keep]}~{digest}:{channel}"


def _check_link(link: str) -> str:
    """A link is a path inside the application: never another site (a phishing vector)."""
    if link and (not link.startswith("/") or link.startswith("//") or UNSAFE_IN_LINK.search(link)):
        raise ValueError(f"a notice links to a path of this application, not {link!r}")
    if len(link) > LINK_LENGTH:
        raise ValueError("a notice's link is longer than 255 characters")
    return link


def _channels_for(notice: Notice, email: str | None, phone: str | None) -> list[tuple[str, str]]:
    """(channel, recipient) pairs this user can receive the notice on."""
    sms_on = current_app.config.get("SMS_ENABLED", True)
    wanted = notice.channels
    if wanted is None:
        wanted = (Channel.INAPP, Channel.EMAIL, Channel.SMS)
    out = []
    for name in dict.fromkeys(wanted):  # keeps order, drops repeats
        channel = Channel(name)  # an unknown channel is a programming error: ValueError
        if channel == Channel.INAPP:
            out.append((channel.value, ""))
        elif channel == Channel.EMAIL and email:
            out.append((channel.value, email))
        elif channel == Channel.SMS and phone and sms_on:
            out.append((channel.value, phone))
    return out


def _insert_ignoring_duplicates(rows: list[dict]) -> int:
    """One INSERT ... ON CONFLICT (idempotency_key) DO NOTHING for the rows; how many of them
    were new (RETURNING gives only the rows inserted)."""
    table = OutboxMessage.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        # One array per column, unnested into rows by the server: 13 parameters instead of
        # 13,000, which psycopg would otherwise parse out of a very long statement each time.
        columns = list(rows[0])
        source = (
            sa.func.unnest(
                *(
                    sa.bindparam(None, [row[c] for row in rows], type_=ARRAY(table.c[c].type))
                    for c in columns
                )
            )
            .table_valued(*columns)
            .render_derived()
        )
        stmt = (
            postgresql.insert(table)
            .from_select(columns, sa.select(*source.c))
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id)
        )
        return len(db.session.execute(stmt).all())
    # SQLite: executed with the list of rows, SQLAlchemy renders one multi-row VALUES.
    stmt = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )
    return len(db.session.execute(stmt, rows).all())


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _rows(notices: Iterable[Notice]) -> Iterator[dict]:
    """The outbox rows of the notices. Users are read a chunk of notices at a time, in one
    query per chunk and each user once; inactive and unknown users get nothing."""
    contacts: dict[int, tuple[str | None, str | None] | None] = {}
    now = utcnow()
    for chunk in _chunks(notices, CHUNK_ROWS):
        unknown = {n.user_id for n in chunk} - contacts.keys()
        if unknown:
            contacts.update(dict.fromkeys(unknown))
            found = db.session.execute(
                sa.select(User.id, User.email, User.phone).where(
                    User.id.in_(unknown), User.active.is_(True)
                )
            )
            contacts.update({uid: (email, phone) for uid, email, phone in found})
        for notice in chunk:
            contact = contacts[notice.user_id]
            if contact is None:
                continue
            link = _check_link(notice.link)
            for channel, recipient in _channels_for(notice, *contact):
                instant = channel == Channel.INAPP
                yield {
                    "idempotency_key": idempotency_key(notice.key, channel),
                    "channel": channel,
                    "user_id": notice.user_id,
                    "recipient": recipient,
                    "subject": notice.subject[:SUBJECT_LENGTH],
                    "body": notice.body,
                    "link": link,
                    # In-app messages are delivered by being stored.
                    "status": (OutboxStatus.SENT if instant else OutboxStatus.PENDING).value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "last_error": "",
                    "created_at": now,
                    "sent_at": now if instant else None,
                    "about_person_id": notice.about_person_id,
                }


def notify_many(notices: Iterable[Notice]) -> int:
    """Enqueue many notices set-based, one INSERT ... ON CONFLICT DO NOTHING per chunk of
    rows; the number of messages newly enqueued (a notice already enqueued under the same key
    and channel adds nothing). Adds and flushes; never commits."""
    db.session.flush()  # the caller's pending changes first: our INSERT bypasses the session
    return sum(_insert_ignoring_duplicates(rows) for rows in _chunks(_rows(notices), CHUNK_ROWS))


def notify(
    user: User,
    *,
    key: str,
    subject: str,
    body: str,
    link: str = "",
    channels: tuple[str, ...] | list[str] | None = None,
) -> int:
    """Enqueue one notice for ``user``; the number of messages newly enqueued (0 when it was
    already enqueued under ``key``). Adds and flushes; never commits."""
    return notify_many(
        [
            Notice(
                user_id=user.id,
                key=key,
                subject=subject,
                body=body,
                link=link,
                channels=tuple(channels) if channels is not None else None,
            )
        ]
    )


def cancel_about(person_id: int, reason: str) -> int:
    """Cancel every message about the person still waiting in the outbox (they died or moved
    away: a reminder to visit them must not go out); how many were cancelled. One UPDATE;
    never commits. A message a dispatcher is sending (status sending) is left to go: the
    channel may have it already. Should that dispatcher die, the message is checked again
    before it is sent once more (``signals.still_true``: the visits feature drops a reminder
    about someone who left). A message being claimed holds its row lock: this waits for it
    (PostgreSQL then re-reads the row's status)."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.about_person_id == person_id,
            OutboxMessage.status == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.CANCELLED.value, last_error=reason[:ERROR_LENGTH])
    )
    return result.rowcount


def cancel_pending(key_prefix: str, user_ids: Iterable[int], reason: str) -> list[sa.Row]:
    """Cancel the users' messages still waiting whose notice key starts with ``key_prefix``
    (a digest that must not go out as written); the (user_id, idempotency_key, channel) of
    each one cancelled, so that the caller can write it again where needed. One UPDATE ...
    RETURNING: a message sent meanwhile is not in the answer. Never commits."""
    user_ids = list(user_ids)
    if not user_ids:
        return []
    return db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.user_id.in_(user_ids),
            OutboxMessage.idempotency_key.startswith(key_prefix, autoescape=True),
            OutboxMessage.status == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.CANCELLED.value, last_error=reason[:ERROR_LENGTH])
        .returning(OutboxMessage.user_id, OutboxMessage.idempotency_key, OutboxMessage.channel)
    ).all()


def pending_about_departed(person_ids: sa.Select) -> list[int]:
    """Which of these people (a subquery of ids) still have messages waiting about them."""
    return list(
        db.session.scalars(
            sa.select(OutboxMessage.about_person_id)
            .where(
                OutboxMessage.about_person_id.in_(person_ids),
                OutboxMessage.status == OutboxStatus.PENDING.value,
            )
            .distinct()
            .order_by(OutboxMessage.about_person_id)
        )
    )


# --- the inbox ------------------------------------------------------------------------------


def inbox_query(user) -> sa.Select:
    """The user's own in-app messages, newest first (an administrator's too: only their own)."""
    return (
        visible(OutboxMessage, user)
        .where(OutboxMessage.user_id == user.id, OutboxMessage.channel == Channel.INAPP.value)
        .order_by(OutboxMessage.id.desc())
    )


def unread_count(user) -> int:
    if role_of(user) is None:
        return 0
    stmt = sa.select(sa.func.count()).where(
        OutboxMessage.user_id == user.id,
        OutboxMessage.channel == Channel.INAPP.value,
        OutboxMessage.read_at.is_(None),
    )
    return db.session.scalar(stmt) or 0


def _require_own_inapp(message: OutboxMessage, user) -> None:
    if message.user_id != getattr(user, "id", None) or message.channel != Channel.INAPP:
        raise AppError(403, _l("This message is not in your inbox."))


def mark_read(message: OutboxMessage, by) -> OutboxMessage:
    _require_own_inapp(message, by)
    if message.read_at is None:
        message.read_at = utcnow()
        db.session.flush()
    return message


def mark_all_read(user) -> int:
    """Mark every unread in-app message of ``user`` read; how many were unread."""
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.user_id == user.id,
            OutboxMessage.channel == Channel.INAPP.value,
            OutboxMessage.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    return result.rowcount


# --- the administrators' outbox -------------------------------------------------------------


def outbox_query(user, status: str | None = None, channel: str | None = None) -> sa.Select:
    stmt = (
        visible(OutboxMessage, user)
        .options(joinedload(OutboxMessage.user))
        .order_by(OutboxMessage.id.desc())
    )
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    return stmt


def outbox_counts(user) -> dict[tuple[str, str], int]:
    """{(channel, status): number of messages} of what ``user`` may see."""
    stmt = (
        visible(OutboxMessage, user)
        .with_only_columns(OutboxMessage.channel, OutboxMessage.status, sa.func.count())
        .group_by(OutboxMessage.channel, OutboxMessage.status)
    )
    return {(channel, status): n for channel, status, n in db.session.execute(stmt)}


def retry(message: OutboxMessage, by) -> OutboxMessage:
    """An administrator sends a failed (or still waiting) message again now, with a fresh
    count of attempts. A message already sent is not sent twice."""
    if role_of(by) != Role.ADMIN:
        raise AppError(403, _l("Only administrators can retry messages."))
    # The dispatcher may hold the row while it sends: wait for it, then decide on fresh data.
    locked = db.session.execute(
        sa.select(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if locked.status == OutboxStatus.CANCELLED:
        raise Conflict(_l("This message was cancelled: it is not sent."))
    if locked.status == OutboxStatus.SENDING:
        raise Conflict(
            _l("This message is being sent now; if no answer comes, it is sent again by itself.")
        )
    if not locked.can_retry:
        raise Conflict(_l("This message was already sent."))
    before = {"status": locked.status, "attempts": locked.attempts}
    locked.status = OutboxStatus.PENDING.value
    locked.attempts = 0
    locked.next_attempt_at = utcnow()
    locked.last_error = ""
    db.session.flush()
    audit.record(
        "outbox.retried",
        locked,
        actor=by,
        changes=audit.changes_between(before, {"status": locked.status, "attempts": 0}),
    )
    return locked


def requeue_dead(channel: str, by) -> int:
    """Every failed (dead) message of ``channel`` waits again with a fresh count of attempts,
    due now (the mail server or the gateway works again); how many. One UPDATE, one audit
    entry with the count. ``by`` None: the command line (``flask outbox requeue``)."""
    if by is not None and role_of(by) != Role.ADMIN:
        raise AppError(403, _l("Only administrators can retry messages."))
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise AppError(400, _l("Only e-mail and SMS messages are sent again."))
    count = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.status == OutboxStatus.DEAD.value)
        .values(
            status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=utcnow(), last_error=""
        )
    ).rowcount
    audit.record(
        "outbox.requeued",
        actor=by,
        changes={"channel": [None, channel], "messages": [None, count]},
    )
    return count
