"""Enqueuing: once per key and channel (the database decides), to the channels a user can
receive, never to inactive users, never committed by the operation itself."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.notifications import operations as ops
from eldercare.notifications.models import OutboxMessage
from tests.builders import build_user

_n = itertools.count(1)


def person_with(email=True, phone=True, **kw):
    n = next(_n)
    return build_user(
        "family",
        email=f"family{n}@example.com" if email else None,
        phone=f"139{n:08d}" if phone else None,
        **kw,
    )


def rows_of(user) -> list[OutboxMessage]:
    stmt = sa.select(OutboxMessage).where(OutboxMessage.user_id == user.id)
    return list(db.session.scalars(stmt.order_by(OutboxMessage.channel)))


def test_a_notice_goes_in_app_by_e_mail_and_by_sms_with_their_addresses(app):
    user = person_with()
    assert ops.notify(user, key="k:1", subject="探访提醒", body="请于明日探访", link="/") == 3
    by_channel = {m.channel: m for m in rows_of(user)}
    assert set(by_channel) == {"inapp", "email", "sms"}
    assert by_channel["email"].recipient == user.email
    assert by_channel["sms"].recipient == user.phone
    assert by_channel["inapp"].recipient == ""
    assert {m.idempotency_key for m in by_channel.values()} == {
        "k:1:inapp",
        "k:1:email",
        "k:1:sms",
    }
    # In-app messages are delivered by being stored; the others wait for the dispatcher.
    assert by_channel["inapp"].status == "sent" and by_channel["inapp"].sent_at is not None
    assert by_channel["email"].status == by_channel["sms"].status == "pending"
    assert by_channel["email"].attempts == 0 and by_channel["email"].sent_at is None


def test_the_same_key_is_enqueued_once(app):
    user = person_with()
    assert ops.notify(user, key="visit-overdue:1:2026-11-30", subject="s", body="b") == 3
    assert ops.notify(user, key="visit-overdue:1:2026-11-30", subject="s", body="b") == 0
    assert len(rows_of(user)) == 3
    # A new key is a new notice.
    assert ops.notify(user, key="visit-overdue:1:2026-12-01", subject="s", body="b") == 3


def test_the_database_refuses_a_second_row_with_the_same_key(app):
    user = person_with(email=False, phone=False)
    ops.notify(user, key="dup", subject="s", body="b")
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(
            OutboxMessage(
                idempotency_key="dup:inapp", channel="inapp", user_id=user.id, subject="s"
            )
        )
        db.session.flush()


def test_only_channels_the_user_can_receive(app, monkeypatch):
    no_contact = person_with(email=False, phone=False)
    assert ops.notify(no_contact, key="a:1", subject="s", body="b") == 1
    assert [m.channel for m in rows_of(no_contact)] == ["inapp"]

    email_only = person_with(phone=False)
    assert ops.notify(email_only, key="a:2", subject="s", body="b", channels=("sms", "email")) == 1
    assert [m.channel for m in rows_of(email_only)] == ["email"]

    monkeypatch.setitem(app.config, "SMS_ENABLED", False)
    both = person_with()
    assert ops.notify(both, key="a:3", subject="s", body="b") == 2
    assert [m.channel for m in rows_of(both)] == ["email", "inapp"]


def test_the_key_names_the_notice_across_users(app):
    """One event told to two people needs two keys: the key alone decides."""
    first, second = person_with(email=False, phone=False), person_with(email=False, phone=False)
    assert ops.notify(first, key="event:7", subject="s", body="b") == 1
    assert ops.notify(second, key="event:7", subject="s", body="b") == 0
    assert ops.notify(second, key=f"event:7:user:{second.id}", subject="s", body="b") == 1


def test_an_unknown_channel_is_a_programming_error(app):
    with pytest.raises(ValueError):
        ops.notify(person_with(), key="a", subject="s", body="b", channels=("fax",))


def test_inactive_users_get_nothing(app):
    gone = person_with(active=False)
    assert ops.notify(gone, key="a", subject="s", body="b") == 0
    assert rows_of(gone) == []


@pytest.mark.parametrize("link", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_a_link_must_stay_inside_the_application(app, link):
    with pytest.raises(ValueError):
        ops.notify(person_with(), key="a", subject="s", body="b", link=link)


def test_long_keys_are_shortened_without_colliding(app):
    user = person_with(email=False, phone=False)
    first, second = "x" * 300 + "1", "x" * 300 + "2"
    assert ops.notify(user, key=first, subject="s", body="b") == 1
    assert ops.notify(user, key=second, subject="s", body="b") == 1
    assert ops.notify(user, key=first, subject="s", body="b") == 0
    keys = [m.idempotency_key for m in rows_of(user)]
    assert len(set(keys)) == 2
    assert all(len(k) <= 200 and k.endswith(":inapp") for k in keys)
    assert ops.idempotency_key("short", "sms") == "short:sms"


def test_a_long_subject_is_cut_to_the_column(app):
    user = person_with(email=False, phone=False)
    ops.notify(user, key="long", subject="长" * 300, body="b")
    assert rows_of(user)[0].subject == "长" * 200


def test_notify_never_commits(app):
    user = person_with()
    db.session.commit()  # the user is there; the notice is part of the next unit of work
    ops.notify(user, key="rolled-back", subject="s", body="b")
    db.session.rollback()
    assert rows_of(user) == []


def test_notify_many_in_chunks_with_repeats_and_unknown_users(app):
    users = [person_with() for _ in range(3)] + [person_with(email=False, phone=False)]
    inactive = person_with(active=False)
    notices = [
        ops.Notice(user_id=users[i % 4].id, key=f"bulk:{i}", subject="提醒", body="正文")
        for i in range(1500)
    ]
    notices.append(notices[0])  # the same notice twice in one batch
    notices.append(ops.Notice(user_id=inactive.id, key="bulk:inactive", subject="s", body="b"))
    notices.append(ops.Notice(user_id=2**31 - 1, key="bulk:nobody", subject="s", body="b"))
    expected = sum(3 if i % 4 != 3 else 1 for i in range(1500))
    assert ops.notify_many(iter(notices)) == expected  # a generator is fine
    count = sa.select(sa.func.count()).select_from(OutboxMessage)
    assert db.session.scalar(count.where(OutboxMessage.idempotency_key.like("bulk:%"))) == expected
    # Running the whole batch again (a repeated or late job) adds nothing.
    assert ops.notify_many(notices) == 0
    assert ops.notify_many([]) == 0


def test_unread_count_and_marking_read(app):
    user, other = person_with(email=False, phone=False), person_with(email=False, phone=False)
    for i in range(3):
        ops.notify(user, key=f"r{i}", subject="s", body="b")
    ops.notify(other, key="other:r0", subject="s", body="b")
    assert ops.unread_count(user) == 3
    first = rows_of(user)[0]
    ops.mark_read(first, user)
    assert first.read_at is not None and ops.unread_count(user) == 2
    with pytest.raises(AppError) as refused:
        ops.mark_read(rows_of(other)[0], user)
    assert refused.value.code == 403
    assert ops.mark_all_read(user) == 2
    assert ops.unread_count(user) == 0
    assert ops.unread_count(other) == 1
