"""A rating round from opening to publication, with separation of duties."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Grade, Objection, Scheme
from eldercare.ratings.operations.decisions import _years_later
from tests.builders import build_user


@pytest.fixture
def rnd(world):
    today = local_today()
    ops.load_shipped_schemes()
    scheme = db.session.scalar(sa.select(Scheme).where(Scheme.kind == "nursing_home"))
    world.facility_a.kind = "nursing_home"
    db.session.flush()
    return ops.open_round(
        world.county_a,
        {"year": today.year, "name": "年度评定", "scheme_id": scheme.id, "notice_days": 7},
        world.user("county_staff"),
    )


def full_marks(application, failing: str | None = None) -> dict:
    entries = {}
    for section in application.round.scheme.sections:
        for item in section.items:
            if item.must_have:
                entries[item.id] = {"met": item.code != failing}
            else:
                entries[item.id] = {"points": Decimal(item.max_points)}
    return entries


def assessed(world, rnd, failing=None):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    first = build_user("county_staff", world.county_a)
    second = build_user("county_staff", world.county_a)
    ops.appoint_assessor(application, first, staff)
    ops.appoint_assessor(application, second, staff)
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    for assessor in (first, second):
        ops.save_scores(application, "assessor", full_marks(application, failing), assessor, True)
    return application, first


def test_opening_a_round_freezes_its_scheme(rnd):
    assert rnd.scheme.is_frozen


def test_from_self_assessment_to_published_stars(world, rnd):
    today = local_today()
    application, _assessor = assessed(world, rnd)
    assert application.status == "assessed"
    ops.decide(application, True, "", world.user("county_staff"))
    assert application.status == "in_notice" and application.level == 5
    assert application.notice_until == today + timedelta(days=6)  # 7 days, today included
    with pytest.raises(Conflict):
        ops.publish(application, world.user("county_staff"))  # the notice is still running
    ops.record_objection(
        application, {"received_on": today, "text": "收费不透明"}, world.user("county_staff")
    )
    later = today + timedelta(days=8)
    with pytest.raises(Conflict):
        ops.publish(application, None, later)  # an objection is unanswered
    application_objection = db.session.scalars(sa.select(Objection)).one()
    application_objection.resolution = "已核实，收费公示齐全"
    grade = ops.publish(application, None, later)
    assert grade.level == 5 and grade.valid_from == later
    assert grade.valid_until == later.replace(year=later.year + 3)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Grade)) == 1


def test_a_failed_must_have_means_no_grade_and_says_which(world, rnd):
    first_must_have = next(i for s in rnd.scheme.sections for i in s.items if i.must_have)
    application, _ = assessed(world, rnd, failing=first_must_have.code)
    ops.decide(application, True, "", world.user("county_staff"))
    assert application.status == "no_grade" and application.level is None
    assert application.result["failed_must_haves"] == [
        f"{first_must_have.section.code}/{first_must_have.code}"
    ]


def test_separation_of_duties(world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    # The operator scores only its own self-assessment, never as an assessor.
    with pytest.raises(AppError) as refused:
        ops.save_scores(application, "assessor", {}, world.user("operator"), False)
    assert refused.value.code == 403
    with pytest.raises(Invalid):
        ops.appoint_assessor(application, world.user("operator"), staff)


def test_an_assessor_never_approves_its_own_scores(world, rnd):
    application, assessor = assessed(world, rnd)
    with pytest.raises(AppError) as refused:
        ops.decide(application, True, "", assessor)
    assert refused.value.code == 403


def test_returned_to_the_assessors(world, rnd):
    application, assessor = assessed(world, rnd)
    ops.decide(application, False, "安全部分请复核", world.user("county_staff"))
    assert application.status == "self_assessed"
    ops.save_scores(application, "assessor", {}, assessor, False)  # may change again


def test_scores_out_of_range_are_refused(world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    item = next(i for s in rnd.scheme.sections for i in s.items if not i.must_have)
    with pytest.raises(Invalid):
        ops.save_scores(
            application,
            "self",
            {item.id: {"points": Decimal(item.max_points + 1)}},
            world.user("operator"),
            False,
        )
    with pytest.raises(Invalid):
        ops.save_scores(
            application,
            "self",
            full_marks(application) | {item.id: {"points": None}},
            world.user("operator"),
            True,
        )


def test_differences_between_assessors_are_flagged(world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    first = build_user("county_staff", world.county_a)
    second = build_user("county_staff", world.county_a)
    ops.appoint_assessor(application, first, staff)
    ops.appoint_assessor(application, second, staff)
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    item = next(i for s in rnd.scheme.sections for i in s.items if i.max_points >= 10)
    ops.save_scores(
        application, "assessor", {item.id: {"points": Decimal(item.max_points)}}, first, False
    )
    ops.save_scores(application, "assessor", {item.id: {"points": Decimal(0)}}, second, False)
    _assessors, rows = ops.compare(application)
    flagged = [r.item.id for r in rows if r.differs]
    assert flagged == [item.id]


def test_one_assessor_is_not_enough(world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    alone = build_user("county_staff", world.county_a)
    ops.appoint_assessor(application, alone, staff)
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    ops.save_scores(application, "assessor", full_marks(application), alone, True)
    assert application.status == "self_assessed"  # waits for a second, independent assessor


def test_an_objection_answered_or_upheld(world, rnd):
    today = local_today()
    application, _ = assessed(world, rnd)
    staff = world.user("county_staff")
    ops.decide(application, True, "", staff)
    objection = ops.record_objection(
        application, {"received_on": today, "text": "护理员不足"}, staff
    )
    ops.reopen(application, "异议属实，重新审定", staff)
    assert application.status == "assessed" and application.level is None
    ops.decide(application, True, "", staff)
    ops.answer_objection(objection, "已补充护理员并复核", staff)
    grade = ops.publish(application, None, today + timedelta(days=8))
    assert grade.level == 5


def test_half_points_that_underflow_are_refused(world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    item = next(i for s in rnd.scheme.sections for i in s.items if not i.must_have)
    for bad in ("1e-999999999", "0.25", "NaN"):
        with pytest.raises(Invalid):
            ops.save_scores(
                application,
                "self",
                {item.id: {"points": Decimal(bad)}},
                world.user("operator"),
                False,
            )


def test_an_assessor_sees_the_others_only_after_handing_in(world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    first = build_user("county_staff", world.county_a)
    second = build_user("county_staff", world.county_a)
    ops.appoint_assessor(application, first, staff)
    ops.appoint_assessor(application, second, staff)
    assert ops.may_see_scores(staff, application)
    assert not ops.may_see_scores(first, application)
    assert not ops.may_see_scores(world.user("operator"), application)
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    ops.save_scores(application, "assessor", full_marks(application), first, True)
    assert ops.may_see_scores(first, application) and not ops.may_see_scores(second, application)


def test_a_grade_published_on_29_february_runs_three_full_years():
    from datetime import date

    assert _years_later(date(2028, 2, 29), 3) == date(2031, 3, 1)
