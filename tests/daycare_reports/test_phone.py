"""The report and the overview on a 360 px phone and a tablet, in real Chromium: no sideways
scrolling, the figures and the not-operating badge in view, the charts drawn, no script
errors. The browser's requests are answered by the test client, inside the test's
transaction, so the pages show the data built here."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.daycare_reports.test_views import _centers, previous_month

pytestmark = pytest.mark.browser

BASE = "http://eldercare.test"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 800, "height": 1280}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def chromium(browser):
    """The session's one browser (tests.chromium)."""
    return browser


def _open(chromium, client, url: str, device: dict):
    errors: list[str] = []
    context = chromium.new_context(locale="zh-CN", **device)

    def answer(route):
        request = route.request
        response = client.open(
            request.url.removeprefix(BASE), method=request.method, data=request.post_data_buffer
        )
        if response.status_code >= 400:
            errors.append(f"{request.url}: HTTP {response.status_code}")
        route.fulfill(
            status=response.status_code,
            headers=dict(response.headers),
            body=response.get_data(),
        )

    context.route("**/*", answer)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(BASE + url)
    page.locator(".chart .main-svg").first.wait_for()
    return context, page, errors


def _fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width + 1


@pytest.mark.parametrize("device", [PHONE, TABLET], ids=["phone", "tablet"])
def test_the_report_fits_the_screen(chromium, client, auth, world, device):
    last_month = previous_month()
    busy, _idle = _centers(world)
    auth.login_as(world.user("county_staff"))
    url = f"/facilities/{busy.id}/daycare/report?month={last_month:%Y-%m}"
    context, page, errors = _open(chromium, client, url, device)
    try:
        width = device["viewport"]["width"]
        assert _fits(page, width)
        for stat in ("#person-days", "#people-served", "#average-daily", "#subsidised"):
            box = page.locator(stat).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, stat
        assert page.locator("#person-days").inner_text() == "6"
        assert page.get_by_role("button", name="打印").is_visible()
        screenshot(page, f"daycare-report-{width}")
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("device", [PHONE, TABLET], ids=["phone", "tablet"])
def test_the_overview_fits_the_screen(chromium, client, auth, world, device):
    last_month = previous_month()
    _busy, idle = _centers(world)
    auth.login_as(world.user("county_staff"))
    url = f"/daycare/overview?month={last_month:%Y-%m}&idle_days=60"
    context, page, errors = _open(chromium, client, url, device)
    try:
        width = device["viewport"]["width"]
        assert page.locator(".chart.js-plotly-plot").count() == 2
        row = page.locator(f"#center-{idle.id}")
        badge = row.locator(".badge")
        badge.scroll_into_view_if_needed()
        assert badge.is_visible() and badge.inner_text() != ""
        box = badge.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        if width == 360:  # the table turns into one card per center
            assert _fits(page, width)
        screenshot(page, f"daycare-overview-{width}")
        assert errors == []
    finally:
        context.close()
