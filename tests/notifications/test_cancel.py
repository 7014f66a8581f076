"""A message waiting in the outbox can be cancelled (the person it is about died or moved
away): it is then never sent, never retried, and the outbox page says so."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.db import utcnow
from eldercare.core.errors import Conflict
from eldercare.extensions import db
from eldercare.notifications import operations as ops
from eldercare.notifications.models import OutboxMessage
from eldercare.notifications.operations import Notice, notify_many
from eldercare.notifications.tasks import dispatch_outbox
from tests.builders import build_user

_n = itertools.count(1)


def about(user, person, channels=("email", "sms", "inapp")) -> dict[str, OutboxMessage]:
    key = f"about:{next(_n)}"
    notice = Notice(
        user.id, key, "逾期探访：张*英", "正文", channels=channels, about_person_id=person.id
    )
    assert notify_many([notice]) == len(channels)
    rows = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith(key + ":"))
    )
    return {m.channel: m for m in rows}


def reload(message: OutboxMessage) -> OutboxMessage:
    db.session.refresh(message)
    return message


@pytest.fixture
def visitor(world):
    return build_user("visitor", world.village_a, email="v@example.test", phone="13800000001")


def test_cancel_about_cancels_only_what_still_waits_about_the_person(world, visitor):
    person, other = world.person_a, world.person_b
    mine = about(visitor, person)
    failed = about(visitor, person, ("email",))["email"]
    failed.status = "dead"
    theirs = about(visitor, other, ("email",))["email"]
    plain = ops.notify(visitor, key="plain", subject="无关", body="", channels=("email",))
    assert plain == 1
    db.session.flush()

    assert ops.cancel_about(person.id, "cancelled: the person it is about died") == 2
    assert reload(mine["email"]).status == reload(mine["sms"]).status == "cancelled"
    assert mine["email"].last_error == "cancelled: the person it is about died"
    assert reload(mine["inapp"]).status == "sent"  # delivered when it was written
    assert reload(failed).status == "dead" and reload(theirs).status == "pending"
    assert ops.cancel_about(person.id, "again") == 0


def test_a_cancelled_message_is_never_sent(world, visitor, smtp):
    message = about(visitor, world.person_a, ("email",))["email"]
    kept = about(visitor, world.person_b, ("email",))["email"]
    ops.cancel_about(world.person_a.id, "cancelled")
    db.session.commit()
    assert dispatch_outbox() == 1
    assert [m["Subject"] for m in smtp.messages] == ["逾期探访：张*英"]
    assert reload(message).status == "cancelled" and message.attempts == 0
    assert message.deliveries == [] and reload(kept).status == "sent"


def test_a_cancelled_message_is_not_retried(world, visitor):
    message = about(visitor, world.person_a, ("email",))["email"]
    ops.cancel_about(world.person_a.id, "cancelled")
    message = reload(message)
    assert not message.can_retry
    with pytest.raises(Conflict):
        ops.retry(message, world.user("admin"))
    assert reload(message).status == "cancelled"


def test_the_outbox_shows_cancelled_messages_without_a_retry(client, auth, world, visitor):
    message = about(visitor, world.person_a, ("email",))["email"]
    ops.cancel_about(world.person_a.id, "cancelled: the person it is about died")
    db.session.commit()
    auth.login_as(world.user("admin"))
    page = client.get("/admin/outbox?status=cancelled").get_data(as_text=True)
    assert f'id="outbox-{message.id}"' in page and "已取消" in page
    assert 'data-status="cancelled"' in page
    detail = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "已取消" in detail and "the person it is about died" in detail
    assert f"/admin/outbox/{message.id}/retry" not in detail
    response = client.post(f"/admin/outbox/{message.id}/retry", follow_redirects=True)
    assert "此消息已取消，不会发送。" in response.get_data(as_text=True)
    assert reload(message).status == "cancelled"


def test_a_notice_about_nobody_names_nobody(visitor):
    ops.notify(visitor, key="nobody", subject="摘要", body="", channels=("inapp",))
    message = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == "nobody:inapp")
    )
    assert message.about_person_id is None


def test_the_status_column_holds_every_status():
    from eldercare.notifications.models import OutboxStatus

    width = OutboxMessage.__table__.c.status.type.length
    assert all(len(status.value) <= width for status in OutboxStatus)


def test_a_person_cancelled_after_a_due_time_stays_cancelled(world, visitor, smtp):
    """The dispatcher's clock far ahead: still nothing is sent."""
    message = about(visitor, world.person_a, ("email",))["email"]
    ops.cancel_about(world.person_a.id, "cancelled")
    db.session.commit()
    assert dispatch_outbox(utcnow() + timedelta(days=30)) == 0
    assert smtp.messages == [] and reload(message).status == "cancelled"
