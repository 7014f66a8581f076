"""Every demo account signs in through the real form, sees its home page in Chinese, switches
to English and back, and signs out from the user menu."""

from __future__ import annotations

import pytest

from eldercare.devtools.demo.data import USERS
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

DEMO_USERNAMES = [username for username, *_ in USERS]  # admin, county, ... family


@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_sign_in_home_language_switch_and_sign_out(page, pages, live_server, username):
    login(page, username)

    assert page.url == live_server.url + "/"
    assert page.get_attribute("html", "lang") == "zh-CN"
    text = page.inner_text("body")
    assert "欢迎您" in text
    assert "养老服务平台" in text
    screenshot(page, f"home-{username}")

    with page.expect_navigation():
        page.get_by_role("button", name="English", exact=True).click()
    assert page.url == live_server.url + "/"
    assert page.get_attribute("html", "lang") == "en"
    assert "Welcome" in page.inner_text("body")
    screenshot(page, f"home-{username}-en")

    # Back to Chinese: the choice is stored on the account, and the menu item to find is 退出登录.
    with page.expect_navigation():
        page.get_by_role("button", name="中文", exact=True).click()
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert "欢迎您" in page.inner_text("body")

    page.click("nav .dropdown-toggle")
    sign_out = page.get_by_role("button", name="退出登录")
    sign_out.wait_for(state="visible")
    with page.expect_navigation():
        sign_out.click()
    assert page.url.startswith(live_server.url + "/auth/login")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator("main h1").inner_text() == "登录"
    assert page.locator('input[name="password"]').is_visible()

    # Signed out for real: the home page sends us back to the login form.
    page.goto("/")
    assert "/auth/login" in page.url
    assert pages.errors == []
