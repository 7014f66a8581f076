"""The advanced-age allowance in Chromium: township staff register an 80-year-old, county staff
approve, the public notice runs out, one county officer draws up the monthly batch and a
second approves it; the batch page then lists her with 180.00 yuan. Phone-width screenshots
of the batch and enrolment pages."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.auth.passwords import hash_password
from eldercare.core import resident_id
from eldercare.core.db import local_today
from eldercare.devtools.demo.data import DEMO_PASSWORD
from eldercare.extensions import db
from eldercare.people.models import Person, id_number_index
from eldercare.regions.models import Region
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Batch, Enrolment, Program
from tests.browser.conftest import login, screenshot
from tests.subsidies.helpers import SHANGHAI

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
CODE = "GLBROWSER"
NAME = "孙桂芝"
ACCOUNT = "6228480402564890018"


def _setup() -> dict:
    """A second county officer (the batch's approver), the county's allowance with
    Shanghai's bands, and an elderly woman of 马营东村 who is 80."""
    county = db.session.scalar(sa.select(Region).where(Region.code == "610302000000"))
    village = db.session.scalar(sa.select(Region).where(Region.code == "610302006201"))
    if db.session.scalar(sa.select(User).where(User.username == "checker")) is None:
        db.session.add(
            User(
                username="checker",
                display_name="渭滨区民政局 赵会计",
                role="county_staff",
                region_id=county.id,
                password_hash=hash_password(DEMO_PASSWORD),
            )
        )
    program = db.session.scalar(sa.select(Program).where(Program.code == CODE))
    if program is None:
        staff = db.session.scalar(sa.select(User).where(User.username == "county"))
        program = ops.create_program(
            county,
            {
                "code": CODE,
                "name": "高龄津贴",
                "kind": "age_allowance",
                "basis": "person",
                "frequency": "monthly",
                "timing": "advance",
                "pay_day": 10,
                "notice_days": 7,
                "review_months": 12,
                "bank_columns": [],
                "active": True,
            },
            staff,
        )
        ops.save_rule_table(program, date(2020, 1, 1), SHANGHAI, "", staff)
    person = db.session.scalar(sa.select(Person).where(Person.name == NAME))
    if person is None:
        born = date(local_today().year - 81, 6, 15)  # 80 or 81 all year
        rng = random.Random(80)
        while True:
            number = resident_id.synthesise("610302", born, "F", rng)
            taken = sa.select(Person.id).where(Person.id_number_index == id_number_index(number))
            if db.session.scalar(taken) is None:
                break
        person = Person(name=NAME, region_id=village.id, birth_date=born, sex="F")
        person.set_id_number(number)
        db.session.add(person)
    db.session.commit()
    return {"program_id": program.id, "id_number": person.id_number}


def _notice_over(program_id: int) -> int:
    """The notice began a week ago: the scheduler's job activates the enrolment."""
    enrolment = db.session.scalar(
        sa.select(Enrolment).where(
            Enrolment.program_id == program_id, Enrolment.status == "in_notice"
        )
    )
    enrolment.notice_until = local_today() - timedelta(days=1)
    activated = ops.activate_due()
    db.session.commit()  # as the scheduler's job does
    return activated


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_an_allowance_from_application_to_an_approved_batch(pages, live_server):
    setup = live_server.query(_setup)
    program_id = setup["program_id"]

    # The township registers the application and passes its own review.
    township = pages.new()
    login(township, "township")
    township.goto("/subsidies/programs")
    with township.expect_navigation():
        township.click(f"#programs a[href='/subsidies/programs/{program_id}']")
    with township.expect_navigation():
        township.click(f"a[href='/subsidies/programs/{program_id}/apply']")
    township.fill("#f-id_number", setup["id_number"])
    township.fill("#f-bank_name", "中国农业银行马营支行")
    township.fill("#f-account_holder", NAME)
    township.fill("#f-account_number", ACCOUNT)
    with township.expect_navigation():
        township.click("#application button[type=submit]")
    assert "/subsidies/enrolments/" in township.url
    enrolment_url = township.url
    assert "6228***********0018" in township.inner_text("#account")
    assert ACCOUNT not in township.content()
    with township.expect_navigation():
        township.click("#review-form button[value=approve]")

    # The county approves; the public notice begins.
    county = pages.new()
    login(county, "county")
    county.goto(enrolment_url)
    with county.expect_navigation():
        county.click("#decide-form button[value=approve]")
    assert county.locator("#review-form, #decide-form button[value=approve]").count() == 0

    assert live_server.query(lambda: _notice_over(program_id)) >= 1

    # One officer draws up this month's batch ...
    county.goto(f"/subsidies/programs/{program_id}/batches")
    assert county.input_value("#f-period") == local_today().strftime("%Y-%m")
    with county.expect_navigation():
        county.click("#generate button[type=submit]")
    assert "/subsidies/batches/" in county.url
    batch_url = county.url
    assert county.locator("#approve").count() == 0  # the maker has no approve button
    assert NAME in county.inner_text("#payment-list")

    # ... and a colleague approves it.
    checker = pages.new()
    login(checker, "checker")
    checker.goto(batch_url)
    with checker.expect_navigation():
        checker.click("#approve")
    row = checker.locator("#payment-list tr", has_text=NAME)
    assert "180.00" in row.inner_text()
    batch = live_server.query(
        lambda: db.session.scalar(sa.select(Batch).where(Batch.program_id == program_id))
    )
    assert batch.status == "approved" and batch.total_fen >= 18000
    assert "18,000" not in checker.inner_text("#totals")  # fen are never shown as yuan

    phone = pages.new(**PHONE)
    login(phone, "checker")
    phone.goto(batch_url)
    assert "180.00" in phone.locator("#payment-list tr", has_text=NAME).inner_text()
    assert scroll_width(phone) <= 360 + 1
    screenshot(phone, "subsidies-batch-phone")
    phone.goto(enrolment_url)
    assert scroll_width(phone) <= 360 + 1
    assert "180.00" in phone.inner_text("#payments")
    screenshot(phone, "subsidies-enrolment-phone")
    assert pages.errors == []
