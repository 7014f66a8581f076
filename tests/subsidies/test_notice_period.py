"""A 7-day public notice (公示) runs seven calendar days, the first included, alike for a
subsidy enrolment and a star rating: both take its end from core.periods.notice_ends_on."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.core.periods import notice_ends_on
from eldercare.extensions import db
from eldercare.ratings import operations as ratings
from eldercare.ratings.models import Scheme
from eldercare.subsidies import operations as ops
from tests.ratings.test_rounds import assessed
from tests.subsidies.helpers import make_program, person_aged


def test_a_seven_day_notice_covers_the_start_day_and_six_more():
    assert notice_ends_on(date(2026, 12, 7), 7) == date(2026, 12, 13)
    assert notice_ends_on(date(2026, 12, 31), 1) == date(2026, 12, 31)
    assert notice_ends_on(date(2028, 2, 25), 7) == date(2028, 3, 2)  # a leap year


def test_a_subsidy_and_a_rating_noticed_today_end_on_the_same_day(world):
    today = local_today()
    staff = world.user("county_staff")

    program = make_program(world, notice_days=7)
    enrolment = ops.apply(
        program,
        {
            "person_id": person_aged(world, date(1944, 2, 2)).id,
            "applied_on": today,
            "account_kind": "bank",
            "bank_name": "农业银行",
            "account_holder": "王秀兰",
            "account_number": "6222021234567890123",
        },
        world.user("township_staff"),
    )
    ops.review(enrolment, True, "", world.user("township_staff"))
    ops.decide(enrolment, True, "", staff, today=today)

    ratings.load_shipped_schemes()
    scheme = db.session.scalar(sa.select(Scheme).where(Scheme.kind == "nursing_home"))
    world.facility_a.kind = "nursing_home"
    db.session.flush()
    rnd = ratings.open_round(
        world.county_a,
        {"year": today.year, "name": "年度评定", "scheme_id": scheme.id, "notice_days": 7},
        staff,
    )
    application, _assessor = assessed(world, rnd)
    ratings.decide(application, True, "", staff)

    assert enrolment.notice_until == application.notice_until == notice_ends_on(today, 7)
