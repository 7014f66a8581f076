"""An operator on a tablet: adds a room and beds, admits a registered person, moves them,
is refused a second admission into an occupied bed, discharges; the board follows."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.beds.models import Bed, Stay
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]
TABLET = {"width": 1024, "height": 768}


def people_to_admit(live_server, n: int) -> list[tuple[str, str]]:
    """(ID number, name) of living people of 渭滨区 who are in no bed."""

    def find():
        in_bed = sa.select(Stay.person_id).where(Stay.discharged_on.is_(None))
        rows = db.session.scalars(
            sa.select(Person)
            .join(Region, Region.id == Person.region_id)
            .where(
                Region.code.startswith("610302"),
                Person.death_date.is_(None),
                Person.id.not_in(in_bed),
            )
            .order_by(Person.id.desc())
            .limit(n)
        ).all()
        return [(p.id_number, p.name) for p in rows]

    return live_server.query(find)


def tile_status(page, label: str) -> str:
    return page.locator(f".bed-tile:has(a:text-is('{label}'))").get_attribute("data-status")


def public_free_beds(pages, facility_id: int) -> int:
    """Free beds on the facility's public page, as an anonymous visitor sees them."""
    visitor = pages.new()
    visitor.goto(f"/public/facilities/{facility_id}")
    return sum(int(text) for text in visitor.locator("#vacancy-table strong").all_inner_texts())


def test_operator_admits_transfers_and_discharges(pages, live_server):
    page = pages.new(viewport=TABLET)
    facility_id = live_server.query(
        lambda: db.session.scalar(sa.select(User.facility_id).where(User.username == "operator"))
    )
    (number, name), (other_number, other_name) = people_to_admit(live_server, 2)
    room = f"9{uuid.uuid4().hex[:3]}"
    yesterday = (local_today() - timedelta(days=1)).isoformat()

    login(page, "operator")
    with page.expect_navigation():
        page.locator("main a[href$='/beds']").first.click()
    assert page.url == f"{live_server.url}/facilities/{facility_id}/beds"
    screenshot(page, "beds-1-board")

    # A new room with two beds, through the board's forms.
    page.locator("details:has(form[action$='/rooms']) summary").click()
    page.fill("#room-floor", "9")
    page.fill("#room-number", room)
    with page.expect_navigation():
        page.click("form[action$='/rooms'] button[type=submit]")
    for label, care in (("1", "nursing"), ("2", "general")):
        page.locator("details:has(form[action$='/beds/new']) summary").click()
        option = page.locator("#bed-room_id option", has_text=room).first.get_attribute("value")
        page.select_option("#bed-room_id", option)
        page.fill("#bed-label", label)
        page.select_option("#bed-care_type", care)
        page.fill("#bed-monthly_price", "2600")
        with page.expect_navigation():
            page.click("form[action$='/beds/new'] button[type=submit]")
    beds = live_server.query(
        lambda: [
            (b.id, b.code)
            for b in db.session.scalars(
                sa.select(Bed)
                .join(Bed.room)
                .where(Bed.facility_id == facility_id, Bed.room.has(number=room))
                .order_by(Bed.label)
            )
        ]
    )
    (first_id, first_code), (second_id, _second_code) = beds
    screenshot(page, "beds-2-new-room")

    # Admit into the first bed.
    free_before = public_free_beds(pages, facility_id)
    board = f"/facilities/{facility_id}/beds"
    page.goto(f"{board}/{first_id}")
    page.fill("#admit-id_number", number)
    page.fill("#admit-name", name)
    page.fill("#admit-admitted_on", yesterday)
    for select in page.locator("select[name^='risks[']").all():
        select.select_option("low")
    screenshot(page, "beds-3-admit-form")
    with page.expect_navigation() as admitted:
        page.click("form[action$='/admit'] button[type=submit]")
    assert admitted.value.status == 200
    assert page.url.startswith(live_server.url + board)
    assert page.locator(f"#bed-{first_id}").get_attribute("data-status") == "occupied"
    assert name in page.locator(f"#bed-{first_id}").inner_text()
    screenshot(page, "beds-4-admitted")
    assert public_free_beds(pages, facility_id) == free_before - 1  # the public page follows

    # A second admission into the occupied bed (a stale form) is refused, clearly.
    page.goto(f"{board}/{second_id}")
    form = page.locator("form[action$='/admit']")
    page.fill("#admit-id_number", other_number)
    page.fill("#admit-name", other_name)
    for select in page.locator("select[name^='risks[']").all():
        select.select_option("medium")
    # The form of the free bed, sent to the occupied one: what a second tablet would do.
    action = form.get_attribute("action").replace(f"/{second_id}/admit", f"/{first_id}/admit")
    form.evaluate("(f, a) => f.setAttribute('action', a)", action)
    with page.expect_navigation() as refused:
        page.click("form[action$='/admit'] button[type=submit]")
    assert refused.value.status == 409
    message = page.locator("#refused").inner_text()
    assert first_code in message
    assert page.input_value("#admit-id_number") == other_number  # nothing typed is lost
    screenshot(page, "beds-5-refused")

    # Move to the second bed.
    page.goto(f"{board}/{first_id}")
    page.locator("#transfer summary").click()
    page.select_option("#transfer-bed_id", str(second_id))
    page.fill("#transfer-on", local_today().isoformat())
    with page.expect_navigation():
        page.click("form[action$='/transfer'] button[type=submit]")
    assert page.locator(f"#bed-{first_id}").get_attribute("data-status") == "vacant"
    assert page.locator(f"#bed-{second_id}").get_attribute("data-status") == "occupied"
    screenshot(page, "beds-6-transferred")

    # Discharge home.
    page.goto(f"{board}/{second_id}")
    page.locator("#discharge summary").click()
    page.fill("#discharge-discharged_on", local_today().isoformat())
    page.select_option("#discharge-reason", "home")
    with page.expect_navigation():
        page.click("form[action$='/discharge'] button[type=submit]")
    assert page.locator(f"#bed-{second_id}").get_attribute("data-status") == "vacant"
    screenshot(page, "beds-7-discharged")
    assert public_free_beds(pages, facility_id) == free_before

    page.goto(f"{board}/{second_id}")
    assert name in page.locator("#stays").inner_text()
    screenshot(page, "beds-8-history")
    assert pages.errors == []
