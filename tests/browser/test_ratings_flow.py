"""A rating round in Chromium: county staff open a round, an assessor scores a nursing home,
the committee approves, and after the notice the public page shows its stars; a home that
fails a must-have item gets no grade and its page says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.auth.passwords import hash_password
from eldercare.devtools.demo.data import DEMO_PASSWORD
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import operations as ops
from eldercare.ratings import tasks as rating_tasks
from eldercare.ratings.models import Application
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]


def _assessor() -> None:
    county = db.session.scalar(sa.select(Region).where(Region.code == "610302000000"))
    for username, name in (("assessor1", "评估专家 周老师"), ("assessor2", "评估专家 吴老师")):
        if db.session.scalar(sa.select(User).where(User.username == username)) is None:
            db.session.add(
                User(
                    username=username,
                    display_name=name,
                    role="county_staff",
                    region_id=county.id,
                    password_hash=hash_password(DEMO_PASSWORD),
                )
            )
    ops.load_shipped_schemes()
    db.session.commit()


def _all_met(scheme) -> dict:
    return {
        item.id: {"met": True} if item.must_have else {"points": item.max_points}
        for section in scheme.sections
        for item in section.items
    }


def _self_assess(facility_name: str) -> int:
    facility = db.session.scalar(sa.select(Facility).where(Facility.name == facility_name))
    application = db.session.scalar(
        sa.select(Application).where(Application.facility_id == facility.id)
    )
    operator = db.session.scalar(
        sa.select(User).where(User.facility_id == facility.id, User.role == "operator")
    )
    ops.save_scores(application, "self", _all_met(application.round.scheme), operator, True)
    db.session.commit()
    return application.id


def test_from_round_to_public_stars(pages, live_server):
    live_server.query(_assessor)
    page = pages.new()
    login(page, "county")
    page.goto("/ratings/rounds")
    page.fill("#f-name", "2026年度养老机构等级评定")
    page.select_option("#f-scheme", label="养老机构等级评定（养老院） v1")
    page.fill("#f-office", "宝鸡市渭滨区民政局")
    page.fill("#f-phone", "0917-3261234")
    with page.expect_navigation():
        page.get_by_role("button", name="开启").click()
    page.select_option("select[name=facility_id]", label="宝鸡市渭滨区社会福利院")
    with page.expect_navigation():
        page.get_by_role("button", name="添加申请机构").click()
    with page.expect_navigation():
        page.get_by_role("link", name="宝鸡市渭滨区社会福利院").click()
    application_url = page.url
    for name in ("评估专家 周老师", "评估专家 吴老师"):
        page.select_option("select[name=user_id]", label=name)
        with page.expect_navigation():
            page.get_by_role("button", name="指定评估员").click()
    application_id = live_server.query(lambda: _self_assess("宝鸡市渭滨区社会福利院"))

    for username in ("assessor1", "assessor2"):
        assessor = pages.new()
        login(assessor, username)
        assessor.goto(f"/ratings/applications/{application_id}/scores/assessor")
        for field in assessor.locator("input[type=number]").all():
            field.fill(field.get_attribute("max"))
        for choice in assessor.locator("select[name^=met-]").all():
            choice.select_option("1")
        with assessor.expect_navigation():
            assessor.get_by_role("button", name="提交").click()
    screenshot(assessor, "ratings-assessor-after")

    page.goto(application_url)
    assert "★★★★★" in page.inner_text("#result")
    with page.expect_navigation():
        page.get_by_role("button", name="审定通过").click()
    assert "公示" in page.inner_text("#app-status")
    screenshot(page, "ratings-in-notice")

    # The notice runs out (as if it had begun a week ago); the scheduler's job publishes.
    def notice_over():
        application = db.session.get(Application, application_id)
        application.notice_until = application.notice_until - timedelta(days=8)
        db.session.commit()
        return rating_tasks.publish_due(datetime.now(UTC))

    assert live_server.query(notice_over) == 1
    facility_id = live_server.query(
        lambda: db.session.scalar(
            sa.select(Facility.id).where(Facility.name == "宝鸡市渭滨区社会福利院")
        )
    )
    public = pages.new()
    public.goto(f"/public/facilities/{facility_id}")
    assert "★★★★★" in public.inner_text("main")
    screenshot(public, "ratings-public-stars")
    assert pages.errors == []


def _no_grade_home() -> int:
    """颐养园 fails a must-have item (the assessor finds no fire-safety approval)."""
    county = db.session.scalar(sa.select(Region).where(Region.code == "610302000000"))
    staff = db.session.scalar(sa.select(User).where(User.username == "county"))
    assessors = db.session.scalars(
        sa.select(User).where(User.username.in_(["assessor1", "assessor2"]))
    ).all()
    facility = db.session.scalar(sa.select(Facility).where(Facility.name == "渭滨区颐养园养老中心"))
    from eldercare.ratings.models import Scheme

    scheme = db.session.scalar(
        sa.select(Scheme).where(Scheme.kind == "nursing_home", Scheme.region_id.is_(None))
    )
    rnd = ops.open_round(
        county, {"year": 2026, "name": "专项评定", "scheme_id": scheme.id, "notice_days": 7}, staff
    )
    application = ops.add_application(rnd, facility, staff)
    for assessor in assessors:
        ops.appoint_assessor(application, assessor, staff)
    operator = db.session.scalar(
        sa.select(User).where(User.facility_id == facility.id, User.role == "operator")
    )
    if operator is None:  # this home has no account in the demo: one is made for it
        operator = User(
            username="yiyangyuan",
            display_name="颐养园 经办人",
            role="operator",
            facility_id=facility.id,
            password_hash=hash_password(DEMO_PASSWORD),
        )
        db.session.add(operator)
        db.session.flush()
    entries = {}
    failing = None
    for section in rnd.scheme.sections:
        for item in section.items:
            if item.must_have and failing is None:
                failing = item
                entries[item.id] = {"met": False}
            else:
                entries[item.id] = {"met": True} if item.must_have else {"points": item.max_points}
    ops.save_scores(application, "self", _all_met(rnd.scheme), operator, True)
    for assessor in assessors:
        ops.save_scores(application, "assessor", entries, assessor, True)
    ops.decide(application, True, "", staff)
    db.session.commit()
    return application.id


def test_a_home_failing_a_must_have_gets_no_grade_and_the_page_says_why(pages, live_server):
    live_server.query(_assessor)
    application_id = live_server.query(_no_grade_home)
    page = pages.new()
    login(page, "county")
    page.goto(f"/ratings/applications/{application_id}")
    assert "不予评级" in page.inner_text("#result")
    assert "未达到的必备项" in page.inner_text("#failed-must-haves")
    screenshot(page, "ratings-no-grade")
