"""Field staff on a 360 px phone: no sideways scrolling, and the collapsed menu opens."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("username", ["visitor", "township"])
def test_home_fits_a_phone_and_the_menu_opens(pages, live_server, username):
    page = pages.new(**PHONE)
    page.goto("/auth/login")
    assert scroll_width(page) <= 360 + 1
    login(page, username)
    assert page.url == live_server.url + "/"
    assert "欢迎您" in page.inner_text("body")
    assert scroll_width(page) <= 360 + 1

    menu = page.locator("#mainnav")
    home_link = menu.get_by_role("link", name="首页")
    assert not home_link.is_visible()
    page.tap(".navbar-toggler")
    home_link.wait_for(state="visible")
    # Wait for Bootstrap's collapse animation to end (a locator, not an evaluated string:
    # the pages' Content-Security-Policy forbids eval, and so it should).
    page.locator("#mainnav.collapse.show").wait_for(state="visible")
    assert page.get_attribute(".navbar-toggler", "aria-expanded") == "true"
    assert menu.locator(".dropdown-toggle").is_visible()  # the account menu, with 退出登录
    assert scroll_width(page) <= 360 + 1
    screenshot(page, f"mobile-{username}-menu")
    assert pages.errors == []
