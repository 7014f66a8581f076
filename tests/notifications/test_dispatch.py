"""The dispatcher against a real SMTP server and a real HTTP SMS gateway: each message is
delivered once, failures are recorded and retried later, and nothing is ever lost."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.notifications import operations as ops
from eldercare.notifications.models import DeliveryAttempt, OutboxMessage
from eldercare.notifications.tasks import dispatch_outbox, max_attempts, retry_wait
from tests.builders import build_user
from tests.notifications.conftest import smtp_server

_n = itertools.count(1)


def recipient(**kw):
    n = next(_n)
    kw.setdefault("email", f"daughter{n}@example.com")
    kw.setdefault("phone", f"138{n:08d}")
    return build_user("family", **kw)


def enqueue(user, channels=("email",), key=None, **kw) -> OutboxMessage:
    key = key or f"test:{next(_n)}"
    kw.setdefault("subject", "探访提醒：张秀英")
    kw.setdefault("body", "张秀英老人今天需要探访。")
    kw.setdefault("link", "/people/12")
    assert ops.notify(user, key=key, channels=channels, **kw) == len(channels)
    db.session.commit()  # as the caller does; the dispatcher sees committed rows
    return db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == f"{key}:{channels[0]}")
    )


def attempts_of(message) -> list[DeliveryAttempt]:
    stmt = sa.select(DeliveryAttempt).where(DeliveryAttempt.message_id == message.id)
    return list(db.session.scalars(stmt.order_by(DeliveryAttempt.id)))


def test_an_e_mail_is_delivered_once_even_when_the_dispatcher_runs_twice(app, smtp):
    user = recipient()
    message = enqueue(user)
    assert dispatch_outbox() == 1
    assert dispatch_outbox() == 0
    assert dispatch_outbox(now=utcnow() + timedelta(days=1)) == 0
    assert len(smtp.messages) == 1
    assert smtp.recipients == [[user.email]]
    db.session.refresh(message)
    assert message.status == "sent" and message.sent_at is not None and message.attempts == 1
    [attempt] = attempts_of(message)
    assert attempt.ok and attempt.error == "" and ":" in attempt.worker


def test_enqueuing_twice_sends_once(app, smtp):
    user = recipient()
    enqueue(user, key="visit-overdue:5:2026-11-30")
    assert ops.notify(user, key="visit-overdue:5:2026-11-30", subject="s", body="b") == 2
    db.session.commit()  # the e-mail was already enqueued: only in-app and SMS are new
    assert dispatch_outbox() == 2  # the e-mail and the SMS (log backend)
    assert len(smtp.to(user.email)) == 1


def test_chinese_subject_body_and_absolute_link_survive_the_smtp_round_trip(app, smtp):
    enqueue(
        recipient(), subject="探访提醒：张秀英（马营镇）", body="请于 11 月 30 日前探访。\n谢谢！"
    )
    dispatch_outbox()
    [mail] = smtp.messages
    assert mail["Subject"] == "探访提醒：张秀英（马营镇）"
    assert mail["From"] == app.config["MAIL_FROM"]
    text = mail.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends
    assert "请于 11 月 30 日前探访。\n谢谢！" in text
    assert "https://ylfw.example.gov.cn/people/12" in text
    assert mail["Message-ID"].startswith("<outbox.")


def test_smtp_down_is_recorded_and_retried_later_until_delivered_once(app, mail_port):
    message = enqueue(recipient())
    now = utcnow()
    assert dispatch_outbox(now=now) == 0  # nothing listens on the port
    db.session.refresh(message)
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at == now + timedelta(seconds=60)
    assert message.next_attempt_at > utcnow()
    assert "SMTP" in message.last_error
    [failed] = attempts_of(message)
    assert not failed.ok and failed.error == message.last_error

    with smtp_server(mail_port) as mailbox:
        # Not yet due: the server being back changes nothing until the retry time.
        assert dispatch_outbox(now=now + timedelta(seconds=30)) == 0
        assert mailbox.messages == []
        assert dispatch_outbox(now=now + timedelta(seconds=61)) == 1
        assert dispatch_outbox(now=now + timedelta(hours=1)) == 0
    assert len(mailbox.messages) == 1
    db.session.refresh(message)
    assert message.status == "sent" and message.attempts == 2 and message.last_error == ""
    assert [a.ok for a in attempts_of(message)] == [False, True]


def test_the_default_retry_schedule_rides_out_a_day_long_outage(app):
    waits = [retry_wait(n) for n in range(1, max_attempts())]
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5)]
    assert max(waits) == timedelta(hours=4)
    assert sum(waits, timedelta()) > timedelta(hours=24)
    assert retry_wait(max_attempts()) is None  # the last attempt failed: dead
    assert max_attempts() == 14


def test_the_retry_schedule_is_a_setting_checked_when_read():
    from config import parse_waits

    assert parse_waits("30s, 5m 2h 1d") == (30, 300, 7200, 86400)
    for bad in ("", "5", "5x", "0m", "-1m", "m"):
        try:
            parse_waits(bad)
        except ValueError as err:
            assert "OUTBOX_RETRY_SCHEDULE" in str(err)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_dead_after_the_schedule_then_an_administrator_retries_it(
    app, mail_port, client, auth, monkeypatch
):
    monkeypatch.setitem(app.config, "OUTBOX_RETRY_SCHEDULE", (60, 120, 240, 480, 960))
    admin = build_user("admin")
    message = enqueue(recipient())
    start = utcnow()
    for day in range(max_attempts() + 2):
        dispatch_outbox(now=start + timedelta(days=day))
    db.session.refresh(message)
    assert message.status == "dead"
    assert message.attempts == max_attempts() == 6
    assert [a.ok for a in attempts_of(message)] == [False] * 6

    with smtp_server(mail_port) as mailbox:
        assert dispatch_outbox(now=start + timedelta(days=30)) == 0  # the dead stay dead
        auth.login_as(admin)
        response = client.post(f"/admin/outbox/{message.id}/retry")
        assert response.status_code == 302
        db.session.refresh(message)
        assert message.status == "pending" and message.attempts == 0
        assert dispatch_outbox() == 1
    assert len(mailbox.messages) == 1
    db.session.refresh(message)
    assert message.status == "sent" and len(attempts_of(message)) == 7
    entry = db.session.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "outbox.retried", AuditLog.entity_id == message.id
        )
    )
    assert entry.actor_id == admin.id
    assert entry.changes == {"status": ["dead", "pending"], "attempts": [6, 0]}


def test_a_sent_message_is_not_retried(app, smtp, client, auth):
    message = enqueue(recipient())
    dispatch_outbox()
    auth.login_as(build_user("admin"))
    response = client.post(f"/admin/outbox/{message.id}/retry", follow_redirects=True)
    assert "alert-danger" in response.get_data(as_text=True)  # the refusal is shown
    db.session.refresh(message)
    assert message.status == "sent"
    assert len(smtp.messages) == 1


def test_sms_through_the_http_gateway(app, sms_http):
    user = recipient()
    message = enqueue(user, channels=("sms",), subject="探访提醒", body="明天上午探访。")
    assert dispatch_outbox() == 1
    [request] = sms_http.requests
    assert request["headers"]["Authorization"] == "Bearer gw-secret"
    assert request["json"]["to"] == user.phone
    assert request["json"]["text"].startswith("探访提醒\n明天上午探访。")
    assert "https://" not in request["json"]["text"]  # APP_BASE_URL not set here
    db.session.refresh(message)
    assert message.status == "sent"


def test_a_500_from_the_sms_gateway_is_a_failure(app, sms_http):
    sms_http.status = 500
    message = enqueue(recipient(), channels=("sms",))
    now = utcnow()
    assert dispatch_outbox(now=now) == 0
    db.session.refresh(message)
    assert message.status == "pending" and message.next_attempt_at > now
    assert "500" in message.last_error
    sms_http.status = 204
    assert dispatch_outbox(now=now + timedelta(minutes=2)) == 1
    assert len(sms_http.requests) == 2


def test_an_unreachable_sms_gateway_is_a_failure(app, monkeypatch):
    from tests.notifications.conftest import free_port

    monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", f"http://127.0.0.1:{free_port()}/")
    message = enqueue(recipient(), channels=("sms",))
    assert dispatch_outbox() == 0
    db.session.refresh(message)
    assert message.status == "pending" and "unreachable" in message.last_error


def test_the_log_backend_writes_the_sms_to_the_log(app, caplog):
    user = recipient()
    enqueue(user, channels=("sms",), body="日志短信")
    with caplog.at_level(logging.INFO):
        assert dispatch_outbox() == 1
    assert "日志短信" in caplog.text
    assert user.phone not in caplog.text  # the number is masked


def test_a_deactivated_recipient_is_not_sent_to(app, smtp):
    user = recipient()
    message = enqueue(user)
    user.active = False
    db.session.commit()
    assert dispatch_outbox() == 0
    db.session.refresh(message)
    assert message.status == "dead" and smtp.messages == []


def test_oldest_first_and_at_most_limit_per_run(app, smtp):
    user = recipient()
    messages = [enqueue(user, subject=f"第{i}条") for i in range(5)]
    assert dispatch_outbox(limit=2) == 2
    assert [m["Subject"] for m in smtp.messages] == ["第0条", "第1条"]
    assert dispatch_outbox() == 3
    assert all(db.session.get(OutboxMessage, m.id).status == "sent" for m in messages)


def test_in_app_messages_are_never_dispatched(app, smtp):
    enqueue(recipient(), channels=("inapp",))
    assert dispatch_outbox() == 0
    assert smtp.messages == []


def test_every_attempt_of_an_sms_carries_the_same_idempotency_key(app, sms_http):
    sms_http.status = 503
    message = enqueue(recipient(), channels=("sms",))
    now = utcnow()
    assert dispatch_outbox(now=now) == 0
    sms_http.status = 204
    assert dispatch_outbox(now=now + timedelta(minutes=2)) == 1
    first, second = sms_http.requests
    key = first["headers"]["Idempotency-Key"]
    assert key == second["headers"]["Idempotency-Key"] == first["json"]["id"]
    assert key.startswith(f"outbox.{message.id}.")
    other = enqueue(recipient(), channels=("sms",))
    assert dispatch_outbox() == 1
    assert sms_http.requests[2]["headers"]["Idempotency-Key"].startswith(f"outbox.{other.id}.")


def _dead(user, channel: str) -> OutboxMessage:
    message = enqueue(user, channels=(channel,))
    message.status, message.attempts, message.last_error = "dead", 14, "SMTP down"
    db.session.commit()
    return message


def test_an_administrator_requeues_every_dead_message_of_a_channel(app, smtp, client, auth):
    user = recipient()
    mails = [_dead(user, "email") for _ in range(3)]
    sms = _dead(user, "sms")
    admin = build_user("admin")
    auth.login_as(admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert 'data-requeue="email"' in page and 'data-requeue="sms"' in page
    assert "重新发送 3 条失败消息" in page
    response = client.post("/admin/outbox/requeue", data={"channel": "email"})
    assert response.status_code == 302
    for message in [*mails, sms]:
        db.session.refresh(message)
    assert [(m.status, m.attempts) for m in mails] == [("pending", 0)] * 3
    assert sms.status == "dead"  # another channel: untouched
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "outbox.requeued"))
    assert entry.actor_id == admin.id
    assert entry.changes == {"channel": [None, "email"], "messages": [None, 3]}
    assert dispatch_outbox() == 3 and len(smtp.messages) == 3
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert 'data-requeue="email"' not in page


def test_requeueing_needs_a_known_channel(app, client, auth):
    auth.login_as(build_user("admin"))
    for channel in ("", "inapp", "fax"):
        response = client.post("/admin/outbox/requeue", data={"channel": channel})
        assert response.status_code == 302
        page = client.get("/admin/outbox").get_data(as_text=True)
        assert "alert-danger" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == 0
