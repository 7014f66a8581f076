"""A visitor on a 360 px phone: sees who is due, records a visit through lost signal without
losing a word, and the person drops off the due list."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.visits import operations as ops
from eldercare.visits.models import CareAssignment, Visit
from tests.browser.conftest import login, screenshot
from tests.browser.test_mobile import PHONE, scroll_width
from tests.builders import build_person

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]


def _overdue_person(name: str) -> int:
    """A person of 马营东村 enrolled two weeks ago and never visited: overdue."""
    village = db.session.scalar(sa.select(Region).where(Region.code == "610302006201"))
    staff = db.session.scalar(sa.select(User).where(User.username == "township"))
    visitor = db.session.scalar(sa.select(User).where(User.username == "visitor"))
    person = build_person(village, name=name, lives_alone=True)
    target = ops.enrol(person, staff, on=local_today() - timedelta(days=14))
    db.session.add(CareAssignment(target=target, visitor_id=visitor.id))
    db.session.commit()
    return target.id


def test_visitor_records_a_visit_on_a_phone_through_lost_signal(pages, live_server):
    target_id = live_server.query(lambda: _overdue_person("欧阳春花"))
    page = pages.new(**PHONE)
    login(page, "visitor")
    page.goto("/visits/")
    card = page.locator(f"#overdue #target-{target_id}")
    assert "欧阳春花" in card.inner_text()
    assert scroll_width(page) <= 361
    screenshot(page, "visits-phone-due-list")

    card.get_by_role("link", name="记录探访").tap()
    page.wait_for_url(f"**/visits/targets/{target_id}/visits/new")
    page.get_by_text("电话探访", exact=True).tap()
    page.get_by_text("情绪低落", exact=True).tap()
    page.fill("#f-summary", "电话联系，老人说腿疼，下周上门。")
    assert scroll_width(page) <= 361
    screenshot(page, "visits-phone-form")

    # The signal drops as the visitor presses Submit: nothing is lost.
    page.route("**/visits/new", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="提交").tap()
    status = page.locator("#draft-status")
    status.wait_for(state="visible")
    assert "未发送" in status.inner_text()
    page.unroute("**/visits/new")
    page.reload()
    assert page.input_value("#f-summary") == "电话联系，老人说腿疼，下周上门。"
    assert page.is_checked("#f-method-phone") and page.is_checked("#f-mood-low")

    # Signal back: the same form goes through, once.
    with page.expect_navigation():
        page.get_by_role("button", name="提交").tap()
    assert page.url.endswith("/visits/")
    assert page.locator(f"#overdue #target-{target_id}").count() == 0
    assert page.locator(f"#done-today #target-{target_id}").count() == 1
    screenshot(page, "visits-phone-after")

    def visits():
        return db.session.scalars(sa.select(Visit).where(Visit.target_id == target_id)).all()

    [visit] = live_server.query(visits)
    assert visit.method == "phone" and visit.mood == "low"
    # The draft is gone once the server has the visit.
    page.goto(f"/visits/targets/{target_id}/visits/new")
    assert page.input_value("#f-summary") == ""
    assert pages.errors == [] or all(
        "internetdisconnected" in e or "ERR_" in e for e in pages.errors
    )


def test_signed_out_visitor_keeps_the_entries(pages, live_server):
    target_id = live_server.query(lambda: _overdue_person("司马秋菊"))
    page = pages.new(**PHONE)
    login(page, "visitor")
    page.goto(f"/visits/targets/{target_id}/visits/new")
    page.fill("#f-summary", "门锁坏了")
    page.context.clear_cookies()  # the session ended while the visitor was talking
    page.get_by_role("button", name="提交").tap()
    status = page.locator("#draft-status")
    status.wait_for(state="visible")
    assert "重新登录" in status.inner_text()
    login(page, "visitor")
    page.goto(f"/visits/targets/{target_id}/visits/new")
    assert page.input_value("#f-summary") == "门锁坏了"
    with page.expect_navigation():
        page.get_by_role("button", name="提交").tap()
    assert page.url.endswith("/visits/")
