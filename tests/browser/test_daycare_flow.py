"""A day-care center's front desk on a tablet: check in the day's members, record lunch and
an activity, and the monthly report counts them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.daycare import operations as ops
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot
from tests.builders import build_person

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

TABLET = {"viewport": {"width": 820, "height": 1180}, "is_mobile": True, "has_touch": True}


def _new_member(name: str) -> tuple[int, int]:
    """A member of 经二路街道日间照料中心 who comes every day, not yet here today."""
    from eldercare.auth.models import User

    center = db.session.scalar(sa.select(Facility).where(Facility.name == "经二路街道日间照料中心"))
    town = db.session.scalar(sa.select(Region).where(Region.code == "610302001001"))
    town = town or db.session.scalar(sa.select(Region).where(Region.code == "610302001000"))
    operator = db.session.scalar(sa.select(User).where(User.username == "daycare"))
    person = build_person(town, name=name)
    ops.add_member(
        center,
        person,
        {"joined_on": local_today(), "days": [0, 1, 2, 3, 4, 5, 6]},
        operator,
    )
    db.session.commit()
    return center.id, person.id


def _figures(page) -> dict[str, int]:
    return {key: int(page.inner_text(f"#{key}")) for key in ("person-days", "meals", "activities")}


def test_front_desk_day_on_a_tablet(pages, live_server):
    center_id, person_id = live_server.query(lambda: _new_member("诸葛秀兰"))
    page = pages.new(**TABLET)
    login(page, "daycare")
    page.goto(f"/facilities/{center_id}/daycare/report")
    before = _figures(page)

    page.goto(f"/facilities/{center_id}/daycare")
    card = page.locator(f"#person-{person_id}")
    with page.expect_navigation():
        card.get_by_role("button", name="签到").tap()
    assert "签退" in page.locator(f"#person-{person_id}").inner_text()
    with page.expect_navigation():
        page.locator(f"#person-{person_id}").get_by_role("button", name="午餐").tap()
    assert "✓ 午餐" in page.locator(f"#person-{person_id}").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 821
    screenshot(page, "daycare-tablet-roster")

    page.goto(f"/facilities/{center_id}/daycare/activities")
    page.fill("#f-title", "手指操")
    page.select_option("#f-category", "exercise")
    page.fill("#f-starts_at", f"{local_today().isoformat()}T00:00")
    page.fill("#f-ends_at", f"{local_today().isoformat()}T00:30")
    page.check(f"#p-{person_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").tap()
    assert "手指操" in page.inner_text("main")

    page.goto(f"/facilities/{center_id}/daycare/report")
    after = _figures(page)
    assert after == {
        "person-days": before["person-days"] + 1,
        "meals": before["meals"] + 1,
        "activities": before["activities"] + 1,
    }
    screenshot(page, "daycare-tablet-report")
    assert pages.errors == []
