"""The inbox (own messages only, unread first in sight, marking read) and the
administrators' outbox pages."""

from __future__ import annotations

import itertools
import re

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.notifications import operations as ops
from eldercare.notifications.models import DeliveryAttempt, OutboxMessage
from tests.builders import Auth, build_user

_n = itertools.count(1)


def inapp(user, subject: str, link: str = "") -> OutboxMessage:
    key = f"view:{next(_n)}"
    ops.notify(user, key=key, subject=subject, body="正文", link=link, channels=("inapp",))
    return db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == f"{key}:inapp")
    )


def test_the_inbox_shows_only_ones_own_messages_newest_first(client, auth, world):
    family, visitor = world.user("family"), world.user("visitor")
    inapp(family, "给家属的第一条")
    inapp(family, "给家属的第二条")
    inapp(visitor, "给探访员的消息")
    inapp(world.user("admin"), "给管理员的消息")
    auth.login_as(family)
    page = client.get("/inbox").get_data(as_text=True)
    assert "给家属的第一条" in page and "给家属的第二条" in page
    assert page.index("给家属的第二条") < page.index("给家属的第一条")
    assert "给探访员的消息" not in page and "给管理员的消息" not in page
    # An administrator sees every row in the outbox, but only their own in the inbox.
    auth.login_as(world.user("admin"))
    page = client.get("/inbox").get_data(as_text=True)
    assert "给管理员的消息" in page and "给家属的第一条" not in page


def test_unread_messages_are_highlighted_and_counted_in_the_menu(client, auth, world):
    family = world.user("family")
    read = inapp(family, "已读消息")
    unread = inapp(family, "未读消息")
    ops.mark_read(read, family)
    auth.login_as(family)
    page = client.get("/inbox").get_data(as_text=True)
    assert re.search(rf'id="message-{unread.id}"\s+data-unread="true"', page)
    assert re.search(rf'id="message-{read.id}"\s+data-unread="false"', page)
    assert re.search(r'data-badge="notifications.inbox">1<', page)
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-badge="notifications.inbox">1<', home)


def test_marking_one_and_all_read(client, auth, world):
    family = world.user("family")
    first, *_others = (inapp(family, f"消息{i}") for i in range(3))
    auth.login_as(family)
    response = client.post(f"/inbox/{first.id}/read", data={"next": "/inbox?page=1"})
    assert response.status_code == 302 and response.location.endswith("/inbox?page=1")
    assert ops.unread_count(family) == 2
    response = client.post("/inbox/read-all", data={"next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response.location
    assert ops.unread_count(family) == 0
    page = client.get("/inbox").get_data(as_text=True)
    assert 'data-unread="true"' not in page and "data-badge" not in page


def test_opening_a_message_marks_it_read_and_follows_its_link(client, auth, world):
    family = world.user("family")
    message = inapp(family, "请查看", link=f"/people/{world.person_a.id}")
    auth.login_as(family)
    response = client.post(f"/inbox/{message.id}/open")
    assert response.status_code == 302
    assert response.location.endswith(f"/people/{world.person_a.id}")
    db.session.refresh(message)
    assert message.read_at is not None


def test_someone_elses_message_cannot_be_marked_or_opened(client, auth, world):
    theirs = inapp(world.user("visitor"), "别人的消息")
    for role in ("family", "admin"):
        auth.login_as(world.user(role))
        assert client.post(f"/inbox/{theirs.id}/read").status_code == 404
        assert client.post(f"/inbox/{theirs.id}/open").status_code == 404
    db.session.refresh(theirs)
    assert theirs.read_at is None


def test_inbox_actions_need_the_csrf_token(csrf_app, world):
    client = csrf_app.test_client()
    family = world.user("family")
    message = inapp(family, "消息")
    Auth(client).login_as(family)
    assert client.post(f"/inbox/{message.id}/read").status_code == 400
    assert client.post("/inbox/read-all").status_code == 400
    page = client.get("/inbox").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/inbox/{message.id}/read", data={"csrf_token": token})
    assert response.status_code == 302


def test_the_inbox_pages(client, auth, world):
    family = world.user("family")
    for i in range(25):
        inapp(family, f"分页消息{i:02d}")
    auth.login_as(family)
    first = client.get("/inbox").get_data(as_text=True)
    assert "分页消息24" in first and "分页消息04" not in first
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert "分页消息04" in second and "分页消息24" not in second
    assert client.get("/inbox").headers["Cache-Control"] == "no-store"


def test_the_outbox_counts_filters_and_masks(client, auth, world):
    user = build_user("family", email="zhangsan@example.com", phone="13912345678")
    ops.notify(user, key="outbox:1", subject="外发消息", body="正文")
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.idempotency_key == "outbox:1:sms")
        .values(status="dead", attempts=6, last_error="SMS gateway answered 500")
    )
    auth.login_as(world.user("admin"))
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "zhangsan@example.com" not in page and "13912345678" not in page
    assert "zh***@example.com" in page and "139****5678" in page
    assert "SMS gateway answered 500" in page
    cells = re.findall(r'data-channel="(\w+)" data-status="(\w+)">\s*<a [^>]*>(\d+)<', page)
    counts = {(channel, status): int(n) for channel, status, n in cells}
    assert counts[("sms", "dead")] >= 1 and counts[("email", "pending")] >= 1
    dead = client.get("/admin/outbox?status=dead&channel=sms").get_data(as_text=True)
    assert "139****5678" in dead and "zh***@example.com" not in dead
    ignored = client.get("/admin/outbox?status=nonsense")
    assert ignored.status_code == 200  # an invalid filter is dropped with a notice


def test_the_outbox_message_page_shows_its_attempts(client, auth, world):
    user = build_user("family", email="lisi@example.com")
    ops.notify(user, key="detail:1", subject="详情消息", body="正文", channels=("email",))
    message = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == "detail:1:email")
    )
    db.session.add(
        DeliveryAttempt(message_id=message.id, ok=False, error="连接被拒绝", worker="host:1")
    )
    db.session.flush()
    auth.login_as(world.user("admin"))
    page = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "详情消息" in page and "连接被拒绝" in page and "host:1" in page
    assert "lisi@example.com" not in page and "li***@example.com" in page
    assert f"/admin/outbox/{message.id}/retry" in page


def test_opening_a_message_without_a_link_returns_to_the_inbox(client, auth, world):
    family = world.user("family")
    message = inapp(family, "无链接")
    auth.login_as(family)
    response = client.post(f"/inbox/{message.id}/open")
    assert response.status_code == 302 and response.location.endswith("/inbox")
    db.session.refresh(message)
    assert message.read_at is not None
