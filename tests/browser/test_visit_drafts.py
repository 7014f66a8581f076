"""The visitor's phone with JavaScript on, in Chinese at 360 px: the confirmation after
recording shows, a draft whose first copy was saved (reply lost) and then corrected is offered
as a correction, and no draft of one account survives sign-out or another account's sign-in."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

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
DRAFTS = """() => Object.keys(localStorage).filter(k => k.startsWith('eldercare-visit-draft:'))"""


def _shot(page, name: str) -> None:
    path = screenshot(page, name)
    shots = Path("/tmp/shots/visits")  # noqa: S108  (where the trial looks, if it exists)
    if shots.is_dir():
        shutil.copy(path, shots / path.name)


def _overdue_person(name: str) -> int:
    village = db.session.scalar(sa.select(Region).where(Region.code == "610302006201"))
    staff = db.session.scalar(sa.select(User).where(User.username == "township"))
    visitor = db.session.scalar(sa.select(User).where(User.username == "visitor"))
    person = build_person(village, name=name, lives_alone=True)
    target = ops.enrol(person, staff, on=local_today() - timedelta(days=14))
    db.session.add(CareAssignment(target=target, visitor_id=visitor.id))
    db.session.commit()
    return target.id


def _visits(live_server, target_id: int) -> list[Visit]:
    return live_server.query(
        lambda: db.session.scalars(sa.select(Visit).where(Visit.target_id == target_id)).all()
    )


def test_visitor_sees_the_confirmation_with_javascript_on(pages, live_server):
    target_id = live_server.query(lambda: _overdue_person("司马秀英"))
    page = pages.new(**PHONE)
    login(page, "visitor")
    page.goto(f"/visits/targets/{target_id}/visits/new")
    page.get_by_text("电话探访", exact=True).tap()
    page.fill("#f-summary", "电话联系，一切正常。")
    with page.expect_navigation():
        page.get_by_role("button", name="提交").tap()
    assert page.url.endswith("/visits/")
    confirmation = page.locator("main .alert-success")
    assert "探访已记录。下次应访日期" in confirmation.inner_text()
    assert scroll_width(page) <= 361
    _shot(page, "visits-js-confirmation")
    assert len(_visits(live_server, target_id)) == 1
    assert page.evaluate(DRAFTS) == []
    assert pages.errors == []


def test_a_lost_reply_then_corrections_are_offered_and_applied(pages, live_server):
    target_id = live_server.query(lambda: _overdue_person("上官桂兰"))
    page = pages.new(**PHONE)
    login(page, "visitor")
    url = f"/visits/targets/{target_id}/visits/new"
    page.goto(url)
    page.fill("#f-summary", "上门探访，老人说腿疼。")

    def lose_reply(route):
        route.fetch()  # the server records the visit...
        route.abort("connectionreset")  # ...and the answer never reaches the phone

    page.route("**/visits/new", lose_reply)
    page.get_by_role("button", name="提交").tap()
    status = page.locator("#draft-status")
    status.wait_for(state="visible")
    assert "未发送" in status.inner_text()
    page.unroute("**/visits/new")
    assert len(_visits(live_server, target_id)) == 1

    # The visitor reopens the draft later and corrects it before sending again.
    page.reload()
    assert page.input_value("#f-summary") == "上门探访，老人说腿疼。"
    page.get_by_text("情绪低落", exact=True).tap()
    page.fill("#f-summary", "上门探访，老人说腿疼，情绪低落，已联系村医。")
    page.get_by_role("button", name="提交").tap()
    offer = page.locator("#apply-corrections")
    offer.wait_for(state="visible")
    text = page.locator("main").inner_text()
    assert "已记录为" in text and "精神状态: 良好 → 情绪低落" in text
    assert page.input_value("#f-summary") == "上门探访，老人说腿疼，情绪低落，已联系村医。"
    assert scroll_width(page) <= 361
    _shot(page, "visits-correction-offer")
    with page.expect_navigation():
        offer.tap()
    assert "修改已应用到已保存的探访记录" in page.locator("main .alert-success").inner_text()
    _shot(page, "visits-correction-applied")
    [visit] = _visits(live_server, target_id)
    assert visit.mood == "low" and visit.summary.endswith("已联系村医。")
    assert page.evaluate(DRAFTS) == []
    # The lost reply, and the 409 of the form sent again, are the story of this test.
    expected = ("connectionreset", "ERR_", "visits/new: HTTP 409")
    assert all(any(x in e for x in expected) for e in pages.errors), pages.errors


def _type_a_draft(page, target_id: int) -> None:
    page.goto(f"/visits/targets/{target_id}/visits/new")
    page.locator("details summary").tap()
    page.fill("#f-health_notes", "血压160/100，服药不规律")
    page.fill("#f-summary", "未提交的记录")
    assert len(page.evaluate(DRAFTS)) == 1


def _storage_holds_no_health_notes(page) -> None:
    assert page.evaluate(DRAFTS) == []
    assert "血压" not in page.evaluate("() => JSON.stringify(localStorage)")
    assert page.evaluate("async () => (await indexedDB.databases()).length") == 0


def test_sign_out_leaves_no_draft_on_the_phone(pages, live_server):
    target_id = live_server.query(lambda: _overdue_person("欧阳淑珍"))
    page = pages.new(**PHONE)
    login(page, "visitor")
    _type_a_draft(page, target_id)
    # Each tap waits for the menu it opened to finish opening: on a loaded machine a tap
    # during Bootstrap's transitions lands on an element still clipped or moving.
    page.locator(".navbar-toggler").tap()
    page.locator(".navbar-collapse.show").wait_for()
    page.locator(".navbar .dropdown-toggle").last.tap()
    sign_out = page.locator(".dropdown-menu.show").get_by_role("button", name="退出登录")
    sign_out.wait_for()
    with page.expect_navigation():
        sign_out.tap()
    assert "/auth/login" in page.url
    _storage_holds_no_health_notes(page)
    login(page, "township")
    _storage_holds_no_health_notes(page)


def test_the_next_account_signing_in_finds_no_draft_of_the_last(pages, live_server):
    """The session merely expired (no sign-out): the draft waits for its visitor, and is
    deleted as soon as someone else signs in on the phone."""
    target_id = live_server.query(lambda: _overdue_person("诸葛玉兰"))
    page = pages.new(**PHONE)
    login(page, "visitor")
    _type_a_draft(page, target_id)
    page.context.clear_cookies()
    page.goto("/auth/login")
    assert len(page.evaluate(DRAFTS)) == 1  # kept for the visitor who typed it
    login(page, "township")
    _storage_holds_no_health_notes(page)
    _shot(page, "visits-next-user-no-drafts")
