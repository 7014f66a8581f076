"""Monthly batches: the right amount to the right people, once, with a second pair of eyes."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.people.models import EconomicStatus
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Batch, Enrolment, Payment, PaymentStatus
from tests.builders import build_user
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged


def payments(batch, **where):
    query = sa.select(Payment).where(Payment.batch_id == batch.id)
    for key, value in where.items():
        query = query.where(getattr(Payment, key) == value)
    return list(db.session.scalars(query.order_by(Payment.period, Payment.id)))


def test_an_eighty_year_old_is_paid_the_80_89_rate(world):
    program = make_program(world)
    her = person_aged(world, date(1945, 3, 15))
    enrol(world, program, her, applied_on=date(2026, 6, 3))
    outcome = ops.generate(program, date(2026, 7, 1), world.user("county_staff"))
    (payment,) = payments(outcome.batch, period=date(2026, 7, 1))
    assert payment.person_id == her.id
    assert payment.amount_fen == 18000
    assert payment.status == PaymentStatus.PENDING.value


def test_turning_90_changes_the_amount_from_the_next_month(world):
    program = make_program(world)
    her = person_aged(world, date(1936, 5, 10))  # 90 on 10 May 2026
    enrol(world, program, her, applied_on=date(2026, 3, 2))
    maker = world.user("county_staff")
    may = ops.generate(program, date(2026, 5, 1), maker).batch
    june = ops.generate(program, date(2026, 6, 1), maker).batch
    assert [p.amount_fen for p in payments(may, period=date(2026, 5, 1))] == [18000]
    assert [p.amount_fen for p in payments(june, period=date(2026, 6, 1))] == [35000]


def test_a_birthday_on_the_first_still_waits_for_the_next_month(world):
    program = make_program(world)
    him = person_aged(world, date(1936, 6, 1), sex="M")  # 90 on 1 June 2026
    enrol(world, program, him, applied_on=date(2026, 6, 1))
    june = ops.generate(program, date(2026, 6, 1), world.user("county_staff")).batch
    assert [p.amount_fen for p in payments(june)] == [18000]


def test_the_dead_are_not_paid_after_the_month_of_death(world):
    program = make_program(world)
    her = person_aged(world, date(1940, 1, 1))
    enrol(world, program, her, applied_on=date(2026, 1, 5))
    her.death_date = date(2026, 8, 20)
    db.session.flush()
    maker = world.user("county_staff")
    august = ops.generate(program, date(2026, 8, 1), maker).batch
    september = ops.generate(program, date(2026, 9, 1), maker).batch
    assert len(payments(august, period=date(2026, 8, 1))) == 1
    assert payments(september, period=date(2026, 9, 1)) == []


def test_a_death_recorded_after_generation_is_excluded_at_approval(world):
    program = make_program(world)
    her = person_aged(world, date(1940, 1, 1))
    enrol(world, program, her, applied_on=date(2026, 9, 1))
    batch = ops.generate(program, date(2026, 9, 1), world.user("county_staff")).batch
    her.death_date = date(2026, 8, 2)
    db.session.flush()
    outcome = ops.approve(batch, county_staff(world, "approver"))
    assert not outcome.approved and outcome.excluded == 1
    (payment,) = payments(batch)
    assert payment.status == PaymentStatus.EXCLUDED.value
    assert payment.exception == "deceased"
    # Nothing changed since: the second approval goes through, paying nobody.
    assert ops.approve(batch, county_staff(world, "approver2")).approved
    assert batch.payment_count == 0 and batch.total_fen == 0


def test_generating_again_adds_only_what_is_missing(world):
    program = make_program(world)
    maker = world.user("county_staff")
    first = person_aged(world, date(1944, 2, 2))
    enrol(world, program, first, applied_on=date(2026, 3, 2))
    assert ops.generate(program, date(2026, 3, 1), maker).added == 1
    assert ops.generate(program, date(2026, 3, 1), maker).added == 0
    second = person_aged(world, date(1930, 2, 2))
    enrol(world, program, second, applied_on=date(2026, 3, 2))
    outcome = ops.generate(program, date(2026, 3, 1), maker)
    assert outcome.added == 1
    assert len(payments(outcome.batch)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 1


def test_the_maker_cannot_approve(world):
    program = make_program(world)
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 2))
    maker = world.user("county_staff")
    batch = ops.generate(program, date(2026, 3, 1), maker).batch
    with pytest.raises(AppError) as refused:
        ops.approve(batch, maker)
    assert refused.value.code == 403
    approved = ops.approve(batch, county_staff(world, "checker"))
    assert approved.approved
    assert batch.payment_count == 1 and batch.total_fen == 18000


def test_an_approved_batch_is_frozen(world):
    program = make_program(world)
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 2))
    maker = world.user("county_staff")
    batch = ops.generate(program, date(2026, 3, 1), maker).batch
    ops.approve(batch, county_staff(world, "checker"))
    enrol(world, program, person_aged(world, date(1930, 2, 2)), applied_on=date(2026, 3, 2))
    with pytest.raises(AppError) as refused:
        ops.generate(program, date(2026, 3, 1), maker)
    assert refused.value.code == 409
    assert len(payments(batch)) == 1


def test_approval_freezes_the_account_paid_into(world):
    program = make_program(world)
    enrolment = enrol(
        world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 2)
    )
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    ops.approve(batch, county_staff(world, "checker"))
    ops.change_account(
        enrolment, {"account_number": "6228480000000000001"}, world.user("county_staff")
    )
    db.session.flush()
    (payment,) = payments(batch)
    db.session.refresh(payment)
    assert payment.account_number == "6222021234567890123"
    assert payment.account_masked == "6222***********0123"


def test_an_enrolment_approved_late_gets_the_missed_months_as_back_pay(world):
    program = make_program(world)
    maker, checker = world.user("county_staff"), county_staff(world, "checker")
    march = ops.generate(program, date(2026, 3, 1), maker).batch
    ops.approve(march, checker)
    # Applied in March, active in April: March is owed from the month of application.
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 20))
    april = ops.generate(program, date(2026, 4, 1), maker).batch
    rows = [(p.period, p.kind, p.amount_fen) for p in payments(april)]
    assert rows == [(date(2026, 3, 1), "back_pay", 18000), (date(2026, 4, 1), "regular", 18000)]
    ops.approve(april, checker)
    may = ops.generate(program, date(2026, 5, 1), maker).batch
    assert [(p.period, p.kind) for p in payments(may)] == [(date(2026, 5, 1), "regular")]


def test_months_before_the_application_need_a_listed_reason(world):
    program = make_program(world)
    her = person_aged(world, date(1944, 2, 2))
    with pytest.raises(AppError) as refused:
        enrol(world, program, her, applied_on=date(2026, 5, 6), start_month=date(2026, 2, 1))
    assert "back_pay_reason" in refused.value.errors
    enrol(
        world,
        program,
        her,
        applied_on=date(2026, 5, 6),
        start_month=date(2026, 2, 1),
        back_pay_reason="late_registration",
    )
    may = ops.generate(program, date(2026, 5, 1), world.user("county_staff")).batch
    assert [(p.period.month, p.kind) for p in payments(may)] == [
        (2, "back_pay"),
        (3, "back_pay"),
        (4, "back_pay"),
        (5, "regular"),
    ]


def test_an_application_before_the_birthday_starts_the_month_after_it(world):
    program = make_program(world)
    him = person_aged(world, date(1961, 7, 20), sex="M")  # 65 on 20 July 2026
    enrolment = enrol(world, program, him, applied_on=date(2026, 6, 1))
    assert enrolment.start_month == date(2026, 8, 1)
    maker = world.user("county_staff")
    assert payments(ops.generate(program, date(2026, 7, 1), maker).batch) == []
    assert [
        p.amount_fen for p in payments(ops.generate(program, date(2026, 8, 1), maker).batch)
    ] == [7500]


def test_the_same_person_in_two_counties_is_held_until_overridden(world):
    program = make_program(world)
    her = person_aged(world, date(1944, 2, 2))
    enrol(world, program, her, applied_on=date(2026, 3, 2))
    staff_b = build_user("county_staff", world.county_b)
    other = ops.create_program(
        world.county_b,
        {
            "code": "GL",
            "name": "陈仓区高龄津贴",
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
        staff_b,
    )
    ops.save_rule_table(
        other, date(2020, 1, 1), [{"min_age": 80, "amount_fen": 20000}], "", staff_b
    )
    # A record that slipped through: the same person enrolled in county B as well.
    db.session.add(
        Enrolment(
            program=other,
            region_id=world.village_b.id,
            person_id=her.id,
            status="active",
            applied_on=date(2026, 1, 1),
            start_month=date(2026, 1, 1),
        )
    )
    db.session.flush()
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    (payment,) = payments(batch)
    assert (payment.status, payment.exception) == ("held", "duplicate")
    checker = county_staff(world, "checker")
    with pytest.raises(AppError):
        ops.override(payment, "  ", checker)
    ops.override(payment, "县B已停发, 见函件", checker)
    with pytest.raises(AppError) as refused:  # whoever released it does not approve it
        ops.approve(batch, checker)
    assert refused.value.code == 403
    assert ops.approve(batch, county_staff(world, "third")).approved
    db.session.refresh(payment)
    assert payment.status == "approved" and payment.override_reason == "县B已停发, 见函件"


def test_rule_rows_that_overlap_are_refused(world):
    with pytest.raises(AppError) as refused:
        make_program(
            world,
            rows=[
                {"min_age": 80, "max_age": 89, "amount_fen": 10000},
                {"min_age": 85, "max_age": None, "amount_fen": 20000},
            ],
        )
    assert refused.value.errors["rules"]


def test_economic_status_and_age_together(world):
    rows = [
        {
            "min_age": 80,
            "max_age": 89,
            "economic_statuses": ["dibao", "tekun_dispersed"],
            "amount_fen": 20000,
        },
        {
            "min_age": 80,
            "max_age": 89,
            "economic_statuses": ["none", "low_income", "tekun_concentrated"],
            "amount_fen": 10000,
        },
        {"min_age": 90, "amount_fen": 30000},
    ]
    program = make_program(world, rows=rows)
    poor = person_aged(world, date(1944, 2, 2), economic_status=EconomicStatus.DIBAO.value)
    other = person_aged(world, date(1944, 2, 3))
    for person in (poor, other):
        enrol(world, program, person, applied_on=date(2026, 3, 2))
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    amounts = {p.person_id: p.amount_fen for p in payments(batch)}
    assert amounts == {poor.id: 20000, other.id: 10000}


def test_a_quarterly_program_pays_three_months_in_advance(world):
    program = make_program(world, frequency="quarterly")
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 4, 2))
    batch = ops.generate(program, date(2026, 4, 1), world.user("county_staff")).batch
    assert [p.amount_fen for p in payments(batch)] == [54000]
    assert batch.due_on == date(2026, 4, 10)
    with pytest.raises(AppError):
        ops.generate(program, date(2026, 5, 1), world.user("county_staff"))
