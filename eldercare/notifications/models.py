"""The outbox: one row per message and channel, and every attempt to deliver it.

The unique idempotency key lets the database, not the caller, guarantee that a notice is
enqueued once. In-app messages are delivered by being inserted (the inbox is the user's in-app
rows); e-mail and SMS rows wait as 'pending' for the dispatcher (``tasks.dispatch_outbox``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.db import UTCDateTime, one_of, utcnow
from eldercare.core.masking import mask_phone
from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db


class Channel(StrEnum):
    INAPP = "inapp"
    EMAIL = "email"
    SMS = "sms"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    #: A dispatcher has recorded an attempt and is handing the message to its channel; until
    #: ``next_attempt_at`` (the send's lease). Found still sending after it (the dispatcher
    #: was killed or lost the database), it is sent again: at least once, never lost.
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"  # gave up after OUTBOX_RETRY_SCHEDULE; an administrator can retry it
    #: Withdrawn before it was sent (the person it is about died or moved away): never sent,
    #: never retried.
    CANCELLED = "cancelled"


CHANNEL_LABELS = {
    Channel.INAPP: _l("In-app"),
    Channel.EMAIL: _l("E-mail"),
    Channel.SMS: _l("SMS"),
}
STATUS_LABELS = {
    OutboxStatus.PENDING: _l("Waiting"),
    OutboxStatus.SENDING: _l("Sending"),
    OutboxStatus.SENT: _l("Sent"),
    OutboxStatus.DEAD: _l("Failed"),
    OutboxStatus.CANCELLED: _l("Cancelled"),
}
STATUS_LENGTH = 10

KEY_LENGTH = 200


def mask_email(address: str | None) -> str:
    """zh***@example.com: the first two characters of the mailbox and the domain."""
    if not address:
        return ""
    local, _at, domain = address.partition("@")
    shown = local[:2] if len(local) > 3 else local[:1]
    return f"{shown}***@{domain}" if domain else shown + "***"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "<caller's key>:<channel>": enqueuing the same notice again inserts nothing.
    idempotency_key: Mapped[str] = mapped_column(sa.String(KEY_LENGTH), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(8))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    #: The e-mail address or phone number when enqueued ('' for in-app).
    recipient: Mapped[str] = mapped_column(sa.String(254), default="")
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: A path in this application ('/people/12'), made absolute in e-mail and SMS.
    link: Mapped[str] = mapped_column(sa.String(255), default="")
    status: Mapped[str] = mapped_column(
        sa.String(STATUS_LENGTH), default=OutboxStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The person (of the registry) the message is about, if it is about one: their pending
    #: messages are cancelled when they die or move away (``ops.cancel_about``). By table
    #: name: the registry is a layer above the outbox.
    about_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)

    user: Mapped[User] = relationship()
    deliveries: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="message", order_by="DeliveryAttempt.id"
    )

    __table_args__ = (
        one_of("channel", Channel, "channel_known"),
        one_of("status", OutboxStatus, "status_known"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The dispatcher's query: status = 'pending' AND next_attempt_at <= now, oldest first.
        sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),
        # A user's inbox and its unread count.
        sa.Index("ix_outbox_message_inbox", "user_id", "channel", "read_at"),
    )

    @classmethod
    def __scope__(cls, user):
        if role_of(user) == Role.ADMIN:
            return sa.true()
        return cls.user_id == user.id

    @property
    def masked_recipient(self) -> str:
        if self.channel == Channel.SMS:
            return mask_phone(self.recipient)
        if self.channel == Channel.EMAIL:
            return mask_email(self.recipient)
        return ""

    @property
    def channel_label(self) -> str:
        return str(CHANNEL_LABELS.get(Channel(self.channel), self.channel))

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(OutboxStatus(self.status), self.status))

    @property
    def is_unread(self) -> bool:
        return self.channel == Channel.INAPP and self.read_at is None

    @property
    def is_pending(self) -> bool:
        """Still to be sent: the dispatcher tries it (again) at ``next_attempt_at``."""
        return self.status == OutboxStatus.PENDING

    @property
    def is_sending(self) -> bool:
        """A dispatcher is handing it to its channel (``next_attempt_at`` ends its lease)."""
        return self.status == OutboxStatus.SENDING

    @property
    def can_retry(self) -> bool:
        """An administrator may send it again now: a failed or still waiting message
        (``ops.retry``); one sent or cancelled is not sent (again)."""
        return self.status in (OutboxStatus.PENDING, OutboxStatus.DEAD)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.channel} {self.status}>"


class DeliveryAttempt(db.Model):
    """One try of the dispatcher to hand a message to its channel, successful or not."""

    __tablename__ = "delivery_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox_message.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: True: the channel accepted it; False: it refused (``error`` says why); None: recorded
    #: before the send and never answered (the dispatcher stopped during the send: the
    #: message may or may not have gone, and is sent again with the same id).
    ok: Mapped[bool | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    #: hostname:pid of the dispatcher that tried.
    worker: Mapped[str] = mapped_column(sa.String(80), default="")

    message: Mapped[OutboxMessage] = relationship(back_populates="deliveries")
