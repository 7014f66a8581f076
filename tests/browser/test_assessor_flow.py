"""An external assessor on a 360 px phone: signs in, finds the home it is appointed to,
attaches a photo to an item and opens it again; nothing scrolls sideways."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.auth.passwords import hash_password
from eldercare.devtools.demo.data import DEMO_PASSWORD
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Scheme
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot
from tests.browser.test_mobile import PHONE, scroll_width

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(2048)
HOME = "马营镇敬老院"


def _appointed() -> tuple[int, int]:
    """A round with 马营镇敬老院 self-assessed, the demo's external assessor appointed."""
    county = db.session.scalar(sa.select(Region).where(Region.code == "610302000000"))
    staff = db.session.scalar(sa.select(User).where(User.username == "county"))
    assessor = db.session.scalar(sa.select(User).where(User.username == "assessor"))
    facility = db.session.scalar(sa.select(Facility).where(Facility.name == HOME))
    ops.load_shipped_schemes()
    scheme = db.session.scalar(
        sa.select(Scheme).where(Scheme.kind == "nursing_home", Scheme.region_id.is_(None))
    )
    rnd = ops.open_round(
        county,
        {"year": 2026, "name": "外部评估试点", "scheme_id": scheme.id, "notice_days": 7},
        staff,
    )
    application = ops.add_application(rnd, facility, staff)
    ops.appoint_assessor(application, assessor, staff)
    operator = User(
        username="mayingjingloayuan",
        display_name="马营镇敬老院 经办人",
        role="operator",
        facility_id=facility.id,
        password_hash=hash_password(DEMO_PASSWORD),
    )
    db.session.add(operator)
    db.session.flush()
    marks = {
        item.id: {"met": True} if item.must_have else {"points": item.max_points}
        for section in scheme.sections
        for item in section.items
    }
    ops.save_scores(application, "self", marks, operator, True)
    db.session.commit()
    return application.id, scheme.sections[0].items[0].id


def test_an_external_assessor_attaches_a_photo_on_a_phone(pages, live_server):
    application_id, item_id = live_server.query(_appointed)
    page = pages.new(**PHONE)
    login(page, "assessor")
    assert page.locator("#home-assignments").is_visible()
    assert scroll_width(page) <= 360 + 1
    page.goto("/ratings/mine")
    with page.expect_navigation():
        page.locator(f'tr[data-application="{application_id}"] a').click()
    assert HOME in page.inner_text("h1")
    with page.expect_navigation():
        page.locator(f'a[href$="/applications/{application_id}/scores/assessor"]').click()
    assert scroll_width(page) <= 360 + 1

    page.set_input_files(
        f'input[type=file][name="file-{item_id}"]',
        files=[{"name": "消防通道.png", "mimeType": "image/png", "buffer": PNG}],
    )
    with page.expect_navigation():  # the upload belongs to the scores form (keeps them)
        page.locator(f'button[name="item_id"][value="{item_id}"]').click()
    link = page.locator(f"#item-{item_id} .evidence a", has_text="消防通道.png")
    assert link.is_visible()
    assert scroll_width(page) <= 360 + 1
    screenshot(page, "ratings-assessor-evidence-phone")

    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.body() == PNG
    assert response.headers["x-content-type-options"] == "nosniff"
    # The round itself, and the rest of the platform, are not the assessor's.
    assert page.request.get("/ratings/rounds").status == 403
    assert page.request.get("/people/").status == 403
    assert pages.errors == []
