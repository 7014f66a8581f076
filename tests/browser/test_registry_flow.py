"""A township officer registers a person: a wrong check digit is refused on the field, the
corrected entry is saved, the person page shows the masked number and reveals it on request."""

from __future__ import annotations

import random
import re
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.core import resident_id
from eldercare.extensions import db
from eldercare.people.models import Person, id_number_index
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

VILLAGE = "610302006201"  # 马营东村, in the township officer's 马营镇


def unused_id_number(live_server) -> str:
    """A valid synthetic number for 渭滨区 that the demo data does not hold."""
    rng = random.Random(20260514)

    def is_free(number: str) -> bool:
        taken = sa.select(Person.id).where(Person.id_number_index == id_number_index(number))
        return db.session.scalar(taken) is None

    while True:
        number = resident_id.synthesise("610302", date(1948, 5, 12), "F", rng)
        if live_server.query(lambda n=number: is_free(n)):
            return number


def with_wrong_check_digit(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


def people_named(live_server, name: str) -> int:
    return live_server.query(
        lambda: db.session.scalar(
            sa.select(sa.func.count()).select_from(Person).where(Person.name == name)
        )
    )


def test_register_with_a_wrong_check_digit_then_correct_it(page, pages, live_server):
    number = unused_id_number(live_server)
    bad_number = with_wrong_check_digit(number)
    with pytest.raises(resident_id.InvalidResidentId):
        resident_id.parse(bad_number)
    village_id = live_server.query(
        lambda: db.session.scalar(sa.select(Region.id).where(Region.code == VILLAGE))
    )
    name = f"浏览器测试{uuid.uuid4().hex[:6]}"

    login(page, "township")
    with page.expect_navigation():
        page.locator("#mainnav").get_by_role("link", name="老年人信息").click()
    assert page.url.startswith(live_server.url + "/people/")
    screenshot(page, "registry-1-list")

    with page.expect_navigation():
        page.get_by_role("link", name="登记老人").click()
    assert page.url == live_server.url + "/people/new"
    page.fill("#f-name", name)
    page.fill("#f-id_number", bad_number)
    screenshot(page, "registry-2-wrong-check-digit")
    with page.expect_navigation() as refused:
        page.click('main form button[type="submit"]')
    assert refused.value.status == 422
    assert page.url == live_server.url + "/people/new"
    field_error = page.locator("#f-id_number ~ .invalid-feedback")
    assert "身份证号校验码错误" in field_error.inner_text()
    assert page.input_value("#f-name") == name  # what was typed is kept
    assert people_named(live_server, name) == 0
    screenshot(page, "registry-3-refused")

    page.fill("#f-id_number", number)
    page.select_option("#f-region_id", str(village_id))
    with page.expect_navigation() as saved:
        page.click('main form button[type="submit"]')
    assert saved.value.status == 200
    assert re.fullmatch(re.escape(live_server.url) + r"/people/\d+", page.url)
    assert people_named(live_server, name) == 1
    assert page.locator("h1").first.inner_text().startswith(name)
    assert page.locator(".id-masked").inner_text() == resident_id.mask(number)
    assert number not in page.content()
    screenshot(page, "registry-4-saved-masked")

    with page.expect_navigation():
        page.locator('form[action$="/reveal-id"] button[type="submit"]').click()
    assert number in page.inner_text("main")
    screenshot(page, "registry-5-revealed")
    assert pages.errors == []
