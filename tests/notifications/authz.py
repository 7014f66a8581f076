"""Authorization matrix entries for the inbox (everyone, own messages only) and the outbox
(administrators only)."""

import itertools

from eldercare.extensions import db
from eldercare.notifications import operations as ops
from eldercare.notifications.models import OutboxMessage
from tests.authz.matrix import ALL, Route

ADMIN = frozenset({"admin"})
_n = itertools.count(1)


def _inapp(user) -> int:
    key = f"authz:{next(_n)}:{user.id}"
    ops.notify(user, key=key, subject="提醒", body="正文", link="/", channels=("inapp",))
    return db.session.scalar(
        db.select(OutboxMessage.id).where(OutboxMessage.idempotency_key == f"{key}:inapp")
    )


def own_message(world, user):
    """The user's own in-app message; out of scope: somebody else's."""
    other = world.user("visitor" if user.role == "family" else "family")
    return _inapp(user), _inapp(other)


def dead_email(world, user):
    message = OutboxMessage(
        idempotency_key=f"authz-dead:{next(_n)}:email",
        channel="email",
        user_id=world.user("family").id,
        recipient="family@example.com",
        subject="提醒",
        body="正文",
        status="dead",
        attempts=6,
        last_error="SMTP refused",
    )
    db.session.add(message)
    db.session.flush()
    return message.id, None


ROUTES = [
    Route("notifications.inbox", allowed=ALL),
    Route(
        "notifications.read",
        "POST",
        allowed=ALL,
        target=own_message,
        arg="message_id",
        data=lambda w, u: {"next": "/inbox"},
        ok=(302,),
    ),
    Route(
        "notifications.open_message",
        "POST",
        allowed=ALL,
        target=own_message,
        arg="message_id",
        ok=(302,),
    ),
    Route("notifications.read_all", "POST", allowed=ALL, ok=(302,)),
    Route("notifications.outbox", allowed=ADMIN),
    Route("notifications.outbox_message", allowed=ADMIN, target=dead_email, arg="message_id"),
    Route(
        "notifications.retry",
        "POST",
        allowed=ADMIN,
        target=dead_email,
        arg="message_id",
        ok=(302,),
    ),
    Route(
        "notifications.requeue",
        "POST",
        allowed=ADMIN,
        data=lambda w, u: {"channel": "email"},
        ok=(302,),
    ),
]
