"""A new family member in Chromium, on a phone: registers, asks to link her mother, the
township verifies, she finds a home with a free nursing bed, books a visit, gets the
confirmation e-mail at a real SMTP server, adds it to her calendar, cancels, and the place is
free again."""

from __future__ import annotations

import random
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from eldercare.bookings import operations as ops
from eldercare.bookings.models import Booking
from eldercare.core import resident_id
from eldercare.extensions import db
from eldercare.notifications.tasks import dispatch_outbox
from eldercare.people.models import Person, id_number_index
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot
from tests.notifications.conftest import free_port, smtp_server

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
MOTHER = "韩玉珍"
HOME = "宝鸡市渭滨区社会福利院"
EMAIL = "han.daughter@example.cn"
PASSWORD = "Jiashu-2026-pass"


def _mother() -> str:
    """A woman of 马营东村 nobody is linked to yet; her ID number."""
    person = db.session.scalar(sa.select(Person).where(Person.name == MOTHER))
    if person is None:
        village = db.session.scalar(sa.select(Region).where(Region.code == "610302006201"))
        born = date(1946, 2, 9)
        rng = random.Random(46)
        while True:
            number = resident_id.synthesise("610302", born, "F", rng)
            taken = sa.select(Person.id).where(Person.id_number_index == id_number_index(number))
            if db.session.scalar(taken) is None:
                break
        person = Person(name=MOTHER, region_id=village.id, birth_date=born, sex="F")
        person.set_id_number(number)
        db.session.add(person)
        db.session.commit()
    return person.id_number


def _places_left(page, start: str) -> str:
    """The text of the slot starting at ``start`` on a booking form ("余 3 个", "已满")."""
    slot_id = page.locator(f'#slots input[value="{start}"]').get_attribute("id")
    return page.locator(f'label[for="{slot_id}"]').inner_text()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_a_family_books_a_visit_gets_the_mail_and_cancels(pages, live_server):
    id_number = live_server.query(_mother)
    port = free_port()
    config = live_server.app.config
    saved = {k: config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_TIMEOUT")}
    config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=5)
    try:
        with smtp_server(port) as mailbox:
            _journey(pages, live_server, id_number, mailbox)
    finally:
        config.update(saved)


def _journey(pages, live_server, id_number, mailbox):
    daughter = pages.new(**PHONE)

    # She registers with her e-mail address and is taken to the link request.
    daughter.goto("/auth/register")
    daughter.fill("#f-display_name", "韩丽")
    daughter.fill("#f-email", EMAIL)
    daughter.fill("#f-password", PASSWORD)
    daughter.fill("#f-confirm_password", PASSWORD)
    with daughter.expect_navigation():
        daughter.click("main form button[type=submit]")
    assert "/people/links/request" in daughter.url
    daughter.fill("#f-name", MOTHER)
    daughter.fill("#f-id_number", id_number)
    daughter.select_option("#f-relation", "child")
    with daughter.expect_navigation():
        daughter.click("main form button[type=submit]")
    assert daughter.locator(".alert-success").count() == 1

    # Before anyone verifies her, there is nobody to book for.
    daughter.goto("/bookings/")
    assert MOTHER not in daughter.content()

    # The township office verifies the link.
    office = pages.new()
    login(office, "township")
    office.goto("/people/links?status=pending")
    row = office.locator("tr", has_text=MOTHER)
    with office.expect_navigation():
        row.locator("button[value=verified]").click()
    assert office.locator(".alert-success").count() == 1

    # She finds a home with a free nursing bed and opens its page.
    daughter.goto("/public/facilities")
    daughter.select_option("#f-care", "nursing")
    daughter.check("#f-free")
    with daughter.expect_navigation():
        daughter.locator("main form button[type=submit]").first.click()
    with daughter.expect_navigation():
        daughter.get_by_role("link", name=HOME).first.click()
    assert "护理" in daughter.content()
    service_row = daughter.locator("tr", has_text="家属探视")
    with daughter.expect_navigation():
        service_row.get_by_role("link", name="预约").click()
    assert "/bookings/services/" in daughter.url
    assert scroll_width(daughter) <= 360
    screenshot(daughter, "family-booking-form-360")

    # She books the first free hour for her mother.
    form_url = daughter.url
    choice = daughter.locator("#slots input[name=starts_at]:not([disabled])").first
    start = choice.get_attribute("value")
    before = _places_left(daughter, start)
    daughter.locator(f'label[for="{choice.get_attribute("id")}"]').click()
    assert daughter.locator("#f-person_id option:checked").inner_text() == MOTHER
    with daughter.expect_navigation():
        daughter.click("main form button[type=submit]")
    assert re.search(r"/bookings/\d+$", daughter.url)
    booking_url = daughter.url
    assert "已确认" in daughter.locator("main").inner_text()
    assert scroll_width(daughter) <= 360
    screenshot(daughter, "family-booking-confirmed-360")

    # The confirmation e-mail arrives at the SMTP server.
    live_server.query(lambda: dispatch_outbox())
    [mail] = [m for m in mailbox.to(EMAIL) if "预约已确认" in m["Subject"]]
    assert "家属探视" in mail["Subject"]
    assert MOTHER in mail.get_content() and HOME in mail.get_content()

    # The calendar file is a valid iCalendar event at the booked time.
    href = daughter.get_by_role("link", name="加入手机日历").get_attribute("href")
    response = daughter.request.get(href)
    assert response.headers["content-type"].startswith("text/calendar")
    [event] = Calendar.from_ical(response.body()).walk("VEVENT")
    assert event.decoded("dtstart") == datetime.fromisoformat(start)
    assert str(event["status"]) == "CONFIRMED"

    # The next family sees one place less.
    daughter.goto(form_url)
    assert _places_left(daughter, start) != before

    # She cancels; the booking says so and the place is free again.
    daughter.goto(booking_url)
    daughter.fill("#f-cancel-reason", "临时出差")
    with daughter.expect_navigation():
        daughter.locator("#family-cancel button[type=submit]").click()
    assert "已取消" in daughter.locator("main").inner_text()

    def slot_state():
        booking = db.session.get(Booking, int(booking_url.rsplit("/", 1)[1]))
        booked, held = ops.check_counts(booking.slot_id)
        return booking.status, booked == held

    assert live_server.query(slot_state) == ("cancelled", True)
    daughter.goto(form_url)
    assert _places_left(daughter, start) == before
    assert not pages.errors, pages.errors
