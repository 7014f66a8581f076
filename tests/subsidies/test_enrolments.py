"""Enrolment lifecycle: application, township review, county approval, notice, active,
suspension, stop; and the checks that keep the wrong people from being paid."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.beds.operations import admit
from eldercare.core.audit import AuditLog
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Enrolment, Payment
from tests.builders import LOW_RISKS, build_bed, build_facility, build_room, build_user
from tests.ratings_grades.helpers import build_grade
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged


def application(world, program, person, **extra):
    data = {
        "person_id": person.id,
        "applied_on": date(2026, 3, 2),
        "account_kind": "bank",
        "bank_name": "农业银行",
        "account_holder": person.name,
        "account_number": "6222 0212 3456 7890 123",
        **extra,
    }
    return ops.apply(program, data, world.user("township_staff"))


def batch_rows(program, period, maker):
    batch = ops.generate(program, period, maker).batch
    return [
        (p.period, p.kind, p.amount_fen, p.status, p.exception)
        for p in db.session.scalars(
            sa.select(Payment).where(Payment.batch_id == batch.id).order_by(Payment.period)
        )
    ]


def test_the_lifecycle_from_application_to_active(world):
    program = make_program(world, notice_days=7)
    her = person_aged(world, date(1945, 3, 15))
    enrolment = application(world, program, her)
    assert enrolment.status == "applied"
    assert enrolment.account_masked == "6222***********0123"
    assert enrolment.account_number == "6222021234567890123"
    ops.review(enrolment, True, "材料齐全", world.user("township_staff"))
    assert enrolment.status == "reviewed"
    ops.decide(enrolment, True, "", world.user("county_staff"), today=date(2026, 3, 10))
    assert (enrolment.status, enrolment.notice_until) == ("in_notice", date(2026, 3, 16))
    db.session.flush()
    assert ops.activate_due(now=None) == 1  # today is long after March 2026
    assert enrolment.status == "active"
    assert enrolment.arrears_from == date(2026, 3, 1)
    actions = set(
        db.session.scalars(
            sa.select(AuditLog.action).where(
                AuditLog.entity_type == "Enrolment", AuditLog.entity_id == enrolment.id
            )
        )
    )
    assert {
        "subsidies.enrolment_applied",
        "subsidies.enrolment_reviewed",
        "subsidies.enrolment_approved",
        "subsidies.enrolment_activated",
    } <= actions


def test_whoever_registered_or_reviewed_cannot_approve(world):
    program = make_program(world)
    county = world.user("county_staff")
    her = person_aged(world, date(1945, 3, 15))
    enrolment = ops.apply(program, {"person_id": her.id, "applied_on": date(2026, 3, 2)}, county)
    ops.review(enrolment, True, "", county)
    with pytest.raises(AppError) as refused:
        ops.decide(enrolment, True, "", county)
    assert refused.value.code == 403
    ops.decide(enrolment, True, "", county_staff(world, "colleague"))


def test_a_county_decision_needs_the_township_review_first(world):
    program = make_program(world)
    enrolment = application(world, program, person_aged(world, date(1945, 3, 15)))
    with pytest.raises(AppError) as refused:
        ops.decide(enrolment, True, "", world.user("county_staff"))
    assert refused.value.code == 409


def test_a_refusal_says_why(world):
    program = make_program(world)
    enrolment = application(world, program, person_aged(world, date(1945, 3, 15)))
    ops.review(enrolment, True, "", world.user("township_staff"))
    with pytest.raises(AppError) as refused:
        ops.decide(enrolment, False, " ", world.user("county_staff"))
    assert "note" in refused.value.errors
    ops.decide(enrolment, False, "户籍不在本县", world.user("county_staff"))
    assert enrolment.status == "rejected"


def test_township_staff_register_only_their_township(wide_world):
    world = wide_world
    program = make_program(world)
    elsewhere = person_aged(world, date(1945, 3, 15), region=world.village_a2)
    with pytest.raises(AppError) as refused:
        application(world, program, elsewhere)
    assert refused.value.code == 403


def test_people_of_another_county_cannot_apply(world):
    program = make_program(world)
    outsider = person_aged(world, date(1945, 3, 15), region=world.village_b)
    with pytest.raises(AppError) as refused:
        ops.apply(program, {"person_id": outsider.id}, world.user("county_staff"))
    assert "person_id" in refused.value.errors


def test_one_open_enrolment_per_person_and_program(world):
    program = make_program(world)
    her = person_aged(world, date(1945, 3, 15))
    application(world, program, her)
    with pytest.raises(AppError) as refused:
        application(world, program, her)
    assert refused.value.code == 409


def test_the_database_refuses_a_second_open_enrolment(world):
    program = make_program(world)
    her = person_aged(world, date(1945, 3, 15))
    application(world, program, her)
    db.session.add(
        Enrolment(
            program=program,
            region_id=her.region_id,
            person_id=her.id,
            applied_on=date(2026, 3, 2),
            start_month=date(2026, 3, 1),
        )
    )
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_too_young_for_any_rule_within_five_years_is_refused(world):
    program = make_program(world)
    with pytest.raises(AppError) as refused:
        application(world, program, person_aged(world, date(1975, 3, 15)))
    assert "person_id" in refused.value.errors


def test_suspension_skips_months_and_resumption_pays_them_only_for_a_reason(world):
    program = make_program(world)
    maker, checker = world.user("county_staff"), county_staff(world, "checker")
    first = enrol(
        world, program, person_aged(world, date(1945, 3, 15)), applied_on=date(2026, 3, 2)
    )
    second = enrol(
        world, program, person_aged(world, date(1945, 3, 16)), applied_on=date(2026, 3, 2)
    )
    ops.approve(ops.generate(program, date(2026, 3, 1), maker).batch, checker)
    for enrolment in (first, second):
        ops.suspend(enrolment, "out_of_contact", date(2026, 4, 1), "", maker)
    ops.approve(ops.generate(program, date(2026, 4, 1), maker).batch, checker)
    ops.resume(first, "out_of_contact", "联系上了", maker, today=date(2026, 5, 3))
    ops.resume(second, None, "", maker, today=date(2026, 5, 3))
    may = ops.generate(program, date(2026, 5, 1), maker).batch
    rows = sorted(
        (p.enrolment_id, p.period.month, p.kind)
        for p in db.session.scalars(sa.select(Payment).where(Payment.batch_id == may.id))
    )
    assert rows == [
        (first.id, 4, "back_pay"),
        (first.id, 5, "regular"),
        (second.id, 5, "regular"),
    ]


def test_a_stopped_enrolment_is_excluded_from_an_open_batch(world):
    program = make_program(world)
    enrolment = enrol(
        world, program, person_aged(world, date(1945, 3, 15)), applied_on=date(2026, 3, 2)
    )
    batch = ops.generate(program, date(2026, 4, 1), world.user("county_staff")).batch
    ops.stop(enrolment, "withdrawal", date(2026, 4, 1), "本人申请", world.user("county_staff"))
    outcome = ops.approve(batch, county_staff(world, "checker"))
    assert outcome.excluded == 1  # April; March, owed from the application, is still paid
    rows = db.session.execute(
        sa.select(Payment.period, Payment.status, Payment.exception)
        .where(Payment.batch_id == batch.id)
        .order_by(Payment.period)
    ).all()
    assert [tuple(r) for r in rows] == [
        (date(2026, 3, 1), "pending", None),
        (date(2026, 4, 1), "excluded", "not_active"),
    ]


def test_recorded_death_stops_enrolments_from_the_next_month(world):
    program = make_program(world)
    her = person_aged(world, date(1945, 3, 15))
    enrolment = enrol(world, program, her, applied_on=date(2026, 3, 2))
    pending = application(world, program, person_aged(world, date(1940, 1, 1)))
    pending.person.death_date = date(2026, 5, 3)
    her.death_date = date(2026, 6, 20)
    db.session.flush()
    assert ops.repair_departed() == 2
    assert (enrolment.status, enrolment.stop_reason, enrolment.stop_month) == (
        "stopped",
        "death",
        date(2026, 7, 1),
    )
    assert pending.status == "rejected"
    assert ops.repair_departed() == 0


def test_a_birth_date_that_contradicts_the_id_number_is_held(world):
    program = make_program(world)
    him = person_aged(world, date(1950, 3, 15), sex="M")  # 76: the 70-79 band
    enrol(world, program, him, applied_on=date(2026, 3, 2))
    him.birth_date = date(1940, 3, 15)  # someone made him 86 in the register
    db.session.flush()
    assert batch_rows(program, date(2026, 4, 1), world.user("county_staff")) == [
        (date(2026, 3, 1), "back_pay", 18000, "held", "id_mismatch"),
        (date(2026, 4, 1), "regular", 18000, "held", "id_mismatch"),
    ]


def test_programs_that_exclude_each_other(world):
    allowance = make_program(world)
    service = make_program(
        world,
        code="FW",
        name="服务补贴",
        kind="service_subsidy",
        rows=[{"min_age": 60, "economic_statuses": ["dibao"], "amount_fen": 10000}],
    )
    ops.set_exclusions(allowance, [service.id], world.user("county_staff"))
    assert ops.exclusions_of(service) == [allowance.id]
    her = person_aged(world, date(1945, 3, 15), economic_status="dibao")
    enrol(world, program=allowance, person=her, applied_on=date(2026, 4, 2))
    enrol(world, program=service, person=her, applied_on=date(2026, 4, 2))
    rows = batch_rows(allowance, date(2026, 4, 1), world.user("county_staff"))
    assert rows == [(date(2026, 4, 1), "regular", 18000, "held", "excluded_program")]


def test_care_subsidy_follows_the_assessment_from_the_next_month(world):
    program = make_program(
        world,
        code="HL",
        name="护理补贴",
        kind="care_subsidy",
        rows=[
            {"ability_levels": ["moderate"], "amount_fen": 10000},
            {"ability_levels": ["severe", "total"], "amount_fen": 20000},
        ],
    )
    her = person_aged(world, date(1945, 3, 15))
    db.session.add(
        AbilityAssessment(person_id=her.id, assessed_on=date(2026, 2, 10), level="moderate")
    )
    db.session.flush()
    db.session.refresh(her)
    enrol(world, program, her, applied_on=date(2026, 3, 2))
    db.session.add(
        AbilityAssessment(person_id=her.id, assessed_on=date(2026, 4, 15), level="severe")
    )
    db.session.flush()
    maker = world.user("county_staff")
    checker = county_staff(world, "checker")
    april = ops.generate(program, date(2026, 4, 1), maker)
    ops.approve(april.batch, checker)
    may = batch_rows(program, date(2026, 5, 1), maker)
    assert may == [(date(2026, 5, 1), "regular", 20000, "pending", None)]
    april_amounts = [
        (p.period.month, p.amount_fen)
        for p in db.session.scalars(
            sa.select(Payment).where(Payment.batch_id == april.batch.id).order_by(Payment.period)
        )
    ]
    assert april_amounts == [(3, 10000), (4, 10000)]


def test_facility_operating_subsidy_by_star_level_and_occupied_beds(world):
    program = make_program(
        world,
        code="YY",
        name="运营补贴",
        kind="operating_subsidy",
        basis="occupied_bed",
        rows=[
            {"star_levels": [1, 2], "amount_fen": 5000},
            {"star_levels": [3, 4, 5], "amount_fen": 10000},
        ],
    )
    three_star = build_facility(world.township_a, name="三星养老院")
    unrated = build_facility(world.township_a, name="未评级养老院")
    build_grade(three_star, 3, date(2025, 6, 1))
    operator = build_user("operator", facility=three_star)
    for n in range(3):
        bed = build_bed(build_room(three_star))
        admit(bed, person_aged(world, date(1940, 1, 1 + n)), date(2026, 3, 1), LOW_RISKS, operator)
    gone = build_bed(build_room(three_star))
    resident = person_aged(world, date(1941, 1, 1))
    stay = admit(gone, resident, date(2026, 3, 1), LOW_RISKS, operator)
    stay.discharged_on = date(2026, 3, 20)  # left before the end of March
    db.session.flush()
    for facility in (three_star, unrated):
        enrol(world, program, facility=facility, applied_on=date(2026, 4, 2))
    rows = batch_rows(program, date(2026, 4, 1), world.user("county_staff"))
    # Three beds occupied on 31 March at 100 yuan; the unrated home meets no rule.
    assert rows == [(date(2026, 4, 1), "regular", 30000, "pending", None)]


def test_maker_and_approver_must_be_county_staff_of_the_county(world):
    program = make_program(world)
    outsider = build_user("county_staff", world.county_b)
    with pytest.raises(AppError) as refused:
        ops.generate(program, date(2026, 3, 1), outsider)
    assert refused.value.code == 403
    with pytest.raises(AppError):
        ops.generate(program, date(2026, 3, 1), world.user("township_staff"))


def test_candidates_are_people_reaching_the_age_this_month(world):
    program = make_program(world)
    turning = person_aged(world, date(1961, 7, 20))
    person_aged(world, date(1961, 8, 1))  # next month
    enrolled = person_aged(world, date(1961, 7, 3))
    application(world, program, enrolled, applied_on=date(2026, 7, 3))
    found = list(db.session.scalars(ops.candidates(program, date(2026, 7, 1))))
    assert found == [turning]
