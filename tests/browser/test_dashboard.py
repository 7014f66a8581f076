"""Bed indicators in real Chromium: the plotly charts draw under the site's CSP, and the public
vacancy search works for anyone, on a phone too."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.beds.models import Bed, Room
from eldercare.beds.operations import new_bed_code
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def county_beds(live_server):
    """Make sure the demo county 渭滨区 has beds (the demo may not bring any)."""

    def ensure() -> str:
        facility = db.session.scalar(
            sa.select(Facility)
            .join(Region, Region.id == Facility.region_id)
            .where(
                Region.code.startswith("610302"),
                Facility.kind == "nursing_home",
                Facility.active.is_(True),
            )
            .order_by(Facility.id)
            .limit(1)
        )
        has_beds = db.session.scalar(sa.select(Bed.id).where(Bed.facility_id == facility.id))
        if has_beds is None:
            room = Room(facility_id=facility.id, number="B-T01", floor=1)
            db.session.add(room)
            db.session.flush()
            for i, care_type in enumerate(["nursing"] * 3 + ["general", "dementia"]):
                db.session.add(
                    Bed(
                        code=new_bed_code(facility.id),
                        facility_id=facility.id,
                        room_id=room.id,
                        label=f"T{i}",
                        care_type=care_type,
                        monthly_price_fen=200000 + i * 10000,
                    )
                )
            db.session.commit()
        return facility.name

    return live_server.query(ensure)


def test_county_dashboard_draws_its_charts(pages, county_beds):
    page = pages.new()
    login(page, "county")
    page.goto("/dashboard/beds")
    page.locator(".js-plotly-plot .plot-container").first.wait_for(state="visible")
    assert page.locator(".js-plotly-plot").count() >= 2
    assert page.locator(".js-plotly-plot .bars path").count() > 0  # bars were drawn
    body = page.inner_text("body")
    assert county_beds in body
    screenshot(page, "dashboard-beds-county")
    assert pages.errors == []


def test_dashboard_on_a_phone(pages, county_beds):
    page = pages.new(**PHONE)
    login(page, "county")
    page.goto("/dashboard/beds")
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    assert page.evaluate("document.documentElement.scrollWidth") <= 361
    screenshot(page, "dashboard-beds-phone")
    assert pages.errors == []


def test_public_search_without_signing_in(pages, county_beds):
    page = pages.new(**PHONE)
    page.goto("/auth/login")
    page.click('main a[href="/public/facilities"]')  # the link under the sign-in form
    page.wait_for_url("**/public/facilities")
    page.select_option("#f-care", "nursing")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert county_beds in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 361
    screenshot(page, "public-search-phone")
    page.get_by_role("link", name=county_beds).click()
    page.wait_for_url("**/public/facilities/*")
    screenshot(page, "public-facility-phone")
    assert pages.errors == []


def test_county_overview_reads_drills_down_and_exports(pages, county_beds):
    page = pages.new()
    login(page, "county")
    page.goto("/dashboard/overview")
    page.locator(".js-plotly-plot .plot-container").first.wait_for(state="visible")
    cards = page.locator("[data-indicator]")
    assert cards.count() == 9
    body = page.inner_text("main")
    for label in (
        "护理型床位占比",
        "每千名老年人床位数",
        "床位入住率",
        "月探访率",
        "逾期未探访",
        "已评定星级的机构占比",
        "补贴按时发放率",
        "本月补贴发放金额",
        "日间照料中心正常运营率",
    ):
        assert label in body
    screenshot(page, "dashboard-overview-county")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 .xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    page.locator("#areas a", has_text="马营镇").click()
    page.wait_for_url("**/dashboard/overview?region_id=*")
    assert "综合看板 · 马营镇" in page.inner_text("h1")
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    assert "马营镇敬老院" in page.inner_text("#facilities")
    assert pages.errors == []


def test_overview_on_a_phone(pages, county_beds):
    page = pages.new(**PHONE)
    login(page, "county")
    page.goto("/dashboard/overview")
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    assert page.evaluate("document.documentElement.scrollWidth") <= 361
    screenshot(page, "dashboard-overview-phone")
    assert pages.errors == []
