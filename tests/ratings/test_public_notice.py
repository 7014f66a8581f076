"""The public notice (公示) of a rating result: anyone sees the results in notice (grade,
scores by section, period, supervision phone, issuing office), the facility page says the
result is in notice, and anyone may lodge an objection (bounded, rate-limited, CSRF) that
county staff answer on the application's page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.core.errors import Conflict
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Objection
from tests.ratings.helpers import full_marks


@pytest.fixture
def in_notice(world, rnd, application):
    rnd.issuing_office = "宝鸡市渭滨区民政局"
    rnd.supervision_phone = "0917-3261234"
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    for assessor in application.assessors:
        ops.save_scores(application, "assessor", full_marks(application), assessor, True)
    ops.decide(application, True, "", world.user("county_staff"))
    assert application.status == "in_notice"
    db.session.commit()
    return application


def test_the_notice_is_public_with_everything_it_prints(client, world, in_notice):
    today = local_today()
    listing = client.get("/public/ratings/notices")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert world.facility_a.name in text and "0917-3261234" in text
    page = client.get(f"/public/ratings/notices/{in_notice.id}").get_data(as_text=True)
    assert "宝鸡市渭滨区民政局" in page and "监督电话" in page
    assert f"{in_notice.level} 级" in page  # 拟评等级
    for section in in_notice.round.scheme.sections:
        assert f"{section.name}：{in_notice.result['sections'][section.code]} / " in page
    assert f"{today.isoformat()} 至 {in_notice.notice_until.isoformat()}" in page
    assert "（盖章）" in page  # room for the seal on the printed notice
    # One county's notices only, and an unknown county is not found.
    assert world.facility_a.name in client.get(
        f"/public/ratings/notices?county_id={world.county_a.id}"
    ).get_data(as_text=True)
    assert world.facility_a.name not in client.get(
        f"/public/ratings/notices?county_id={world.county_b.id}"
    ).get_data(as_text=True)
    assert client.get("/public/ratings/notices?county_id=999999").status_code == 404


def test_the_facility_page_says_the_result_is_in_notice(client, world, in_notice):
    page = client.get(f"/public/facilities/{world.facility_a.id}").get_data(as_text=True)
    until = in_notice.notice_until.isoformat()
    assert "公示中" in page and f"拟评 {in_notice.level} 级，公示至 {until}" in page


def test_a_result_not_in_notice_is_not_public(client, world, application):
    assert client.get(f"/public/ratings/notices/{application.id}").status_code == 404
    response = client.post(
        f"/public/ratings/notices/{application.id}/objections",
        data={"name": "张三", "phone": "13800000000", "text": "评分不实，请核查"},
    )
    assert response.status_code == 404
    assert "公示中" not in client.get(f"/public/facilities/{world.facility_a.id}").get_data(
        as_text=True
    )


def test_anyone_lodges_an_objection_and_county_staff_answer_it(client, auth, world, in_notice):
    today = local_today()
    url = f"/public/ratings/notices/{in_notice.id}/objections"
    response = client.post(
        url, data={"name": "李四", "phone": "138-0000-1234", "text": "夜间护理员明显不足"}
    )
    assert response.status_code == 302
    objection = db.session.scalars(sa.select(Objection)).one()
    assert objection.lodged_publicly and objection.recorded_by_id is None
    assert (objection.lodger_name, objection.lodger_phone) == ("李四", "138-0000-1234")
    assert objection.received_on == today
    assert db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "rating_objection.lodged")
    )
    # Staff see it in the application it belongs to, with who to call back.
    staff = world.user("county_staff")
    auth.login_as(staff)
    page = client.get(f"/ratings/applications/{in_notice.id}").get_data(as_text=True)
    assert "公众提出" in page and "李四" in page and "138-0000-1234" in page
    # Unanswered, the grade waits.
    with pytest.raises(Conflict):
        ops.publish(in_notice, None, in_notice.notice_until + timedelta(days=1))
    answered = client.post(
        f"/ratings/objections/{objection.id}/answer", data={"resolution": "已核查，排班符合要求"}
    )
    assert answered.status_code == 302
    db.session.refresh(objection)
    assert objection.answered_by_id == staff.id and objection.answered_at is not None
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "rating_objection.answered")
    )
    assert entry.changes == {"resolution": ["", "已核查，排班符合要求"]}


def test_a_refused_objection_keeps_what_was_typed(client, in_notice):
    url = f"/public/ratings/notices/{in_notice.id}/objections"
    response = client.post(url, data={"name": "王五", "phone": "打电话给我", "text": "收费" * 600})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="王五"' in page and 'value="打电话给我"' in page and "收费" * 600 in page
    assert "请填写电话号码" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Objection)) == 0


def test_objections_close_with_the_notice(client, in_notice):
    today = local_today()
    in_notice.notice_until = today - timedelta(days=1)
    db.session.commit()
    assert client.get(f"/public/ratings/notices/{in_notice.id}").status_code == 404
    response = client.post(
        f"/public/ratings/notices/{in_notice.id}/objections",
        data={"name": "张三", "phone": "13800000000", "text": "评分不实，请核查"},
    )
    assert response.status_code == 404
    with pytest.raises(Conflict):
        ops.lodge_objection(in_notice, {"name": "张三", "phone": "1380000", "text": "评分不实"})


def test_lodging_is_rate_limited(app, client, in_notice, monkeypatch):
    monkeypatch.setitem(app.config, "RATING_OBJECTION_RATE_LIMIT", "2 per hour")
    url = f"/public/ratings/notices/{in_notice.id}/objections"
    data = {"name": "赵六", "phone": "13800000000", "text": "同一人反复提交"}
    assert [client.post(url, data=data).status_code for _ in range(3)] == [302, 302, 429]


def test_lodging_needs_the_forms_csrf_token(csrf_app, in_notice):
    client = csrf_app.test_client()
    url = f"/public/ratings/notices/{in_notice.id}/objections"
    data = {"name": "赵六", "phone": "13800000000", "text": "没有令牌的提交"}
    assert client.post(url, data=data).status_code == 400
    page = client.get(f"/public/ratings/notices/{in_notice.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(url, data={**data, "csrf_token": token}).status_code == 302
