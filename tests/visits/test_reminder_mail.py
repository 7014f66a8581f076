"""End to end through a real SMTP server: an overdue visit's reminder e-mail arrives once,
however often the jobs run, and it waits in the outbox while the mail server is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.notifications.tasks import dispatch_outbox
from tests.builders import build_person
from tests.notifications.conftest import mail_port, smtp, smtp_server  # noqa: F401 (fixtures)
from tests.visits.helpers import admin, at, build_target, record


def _overdue_plan(world):
    today = local_today()
    visitor = world.user("visitor")
    visitor.email = "zhao.visitor@example.cn"
    person = build_person(world.village_a, name="钱秀英", lives_alone=True)
    target = build_target(person, [visitor], today - timedelta(days=200))
    record(target, admin(), at(today - timedelta(days=100)))  # general: 10 days overdue
    db.session.flush()
    return visitor


def test_the_overdue_reminder_e_mail_arrives_exactly_once(world, smtp):  # noqa: F811
    from eldercare.visits import tasks

    visitor = _overdue_plan(world)
    now = datetime.now(UTC)
    for _ in range(2):  # the job run twice (a second scheduler start, a catch-up)
        tasks.remind_overdue(now)
        dispatch_outbox(now=now)
        dispatch_outbox(now=now + timedelta(minutes=1))
    reminders = [m for m in smtp.to(visitor.email) if "钱*英" in m["Subject"]]
    assert len(reminders) == 1
    assert "探访逾期" in reminders[0]["Subject"]
    assert "逾期 10 天" in reminders[0].get_content()


def test_a_reminder_waits_while_the_mail_server_is_down(world, mail_port):  # noqa: F811
    from eldercare.visits import tasks

    visitor = _overdue_plan(world)
    now = datetime.now(UTC)
    tasks.remind_overdue(now)
    assert dispatch_outbox(now=now) == 0  # nothing listens: the attempt fails, nothing lost
    with smtp_server(mail_port) as mailbox:
        dispatch_outbox(now=now + timedelta(hours=1))
        dispatch_outbox(now=now + timedelta(hours=2))
    assert len([m for m in mailbox.to(visitor.email) if "钱*英" in m["Subject"]]) == 1


def test_a_reminder_no_longer_true_when_the_mail_server_is_back_is_dropped(
    world,
    mail_port,  # noqa: F811
):
    from eldercare.notifications.models import OutboxMessage
    from eldercare.visits import tasks

    today = local_today()
    visitor = _overdue_plan(world)
    now = datetime.now(UTC)
    tasks.remind_overdue(now)
    assert dispatch_outbox(now=now) == 0  # the mail server is down: the reminder waits
    [reminder] = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.user_id == visitor.id,
            OutboxMessage.channel == "email",
            OutboxMessage.idempotency_key.startswith("visit-overdue:"),
        )
    )
    assert reminder.status == "pending"
    record(_target_of(reminder), admin(), at(today))  # the visit is made meanwhile
    db.session.commit()
    with smtp_server(mail_port) as mailbox:
        dispatch_outbox(now=now + timedelta(hours=1))
    assert [m for m in mailbox.to(visitor.email) if "钱*英" in m["Subject"]] == []
    db.session.refresh(reminder)
    assert reminder.status == "cancelled"
    assert "visit was made meanwhile" in reminder.last_error


def test_a_morning_digest_of_a_day_past_is_dropped(world, mail_port):  # noqa: F811
    from eldercare.notifications.models import OutboxMessage
    from eldercare.visits import tasks

    visitor = _overdue_plan(world)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    tasks.send_daily_digests(yesterday)
    digest = db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.user_id == visitor.id,
            OutboxMessage.channel == "email",
            OutboxMessage.idempotency_key.startswith("visit-digest:"),
        )
    )
    assert digest is not None
    db.session.commit()
    with smtp_server(mail_port) as mailbox:
        dispatch_outbox()  # the outage lasted into today
    assert mailbox.to(visitor.email) == []
    db.session.refresh(digest)
    assert digest.status == "cancelled" and "day past" in digest.last_error


def _target_of(message):
    from eldercare.visits.models import CareTarget

    target_id = int(message.idempotency_key.split(":")[1])  # visit-overdue:<plan>:...
    return db.session.get(CareTarget, target_id)
