from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Payment
from tests.builders import build_facility
from tests.ratings_grades.helpers import build_grade
from tests.subsidies.helpers import SHANGHAI, county_staff, enrol, make_program, person_aged


def _payments(batch):
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.batch_id == batch.id).order_by(Payment.period)
        )
    )


def test_a_29_february_birthday_reaches_the_candidate_list(world):
    program = make_program(world)  # lowest band 65
    leapling = person_aged(world, date(1960, 2, 29))  # 65 in 2025, a common year
    found = set(db.session.scalars(ops.candidates(program, date(2025, 2, 1)))) | set(
        db.session.scalars(ops.candidates(program, date(2025, 3, 1)))
    )
    assert leapling in found


def test_a_quarterly_enrolment_is_not_paid_for_months_before_the_application(world):
    program = make_program(world, frequency="quarterly")
    her = person_aged(world, date(1944, 2, 2))  # 82: 180 yuan a month
    enrolment = enrol(world, program, her, applied_on=date(2026, 3, 20))
    q2 = ops.generate(program, date(2026, 4, 1), world.user("county_staff")).batch
    q1 = [p for p in _payments(q2) if p.period == date(2026, 1, 1)]
    # Applied in March, no back-pay reason: January and February are not owed.
    assert enrolment.back_pay_reason is None
    assert sum(p.amount_fen for p in q1) <= 18000


def test_the_approver_cannot_release_a_held_payment_and_approve_it_alone(world):
    program = make_program(world)
    maker, checker = world.user("county_staff"), county_staff(world, "checker")
    enrol(
        world,
        program,
        person_aged(world, date(1944, 2, 2)),
        applied_on=date(2026, 3, 2),
        account=None,
    )
    batch = ops.generate(program, date(2026, 3, 1), maker).batch
    (payment,) = _payments(batch)
    assert (payment.status, payment.exception) == ("held", "no_account")
    ops.override(payment, "我说可以", checker)
    # One person may not both waive the exception and approve the money.
    with pytest.raises(AppError) as refused:
        ops.approve(batch, checker)
    assert refused.value.code == 403


def test_a_facility_re_rated_lower_is_paid_the_new_level(world):
    program = make_program(
        world,
        code="YY",
        name="运营补贴",
        kind="operating_subsidy",
        basis="facility",
        rows=[
            {"star_levels": [1, 2], "amount_fen": 5000},
            {"star_levels": [3, 4, 5], "amount_fen": 10000},
        ],
    )
    home = build_facility(world.township_a, name="降级养老院")
    build_grade(home, 4, date(2024, 1, 1))  # valid until 2027
    build_grade(home, 2, date(2025, 6, 1))  # re-rated lower: in force from June 2025
    enrol(world, program, facility=home, applied_on=date(2026, 4, 2))
    batch = ops.generate(program, date(2026, 4, 1), world.user("county_staff")).batch
    assert [p.amount_fen for p in _payments(batch)] == [5000]


def test_a_table_used_only_by_a_draft_batch_can_be_corrected(world):
    program = make_program(world)
    maker = world.user("county_staff")
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 2))
    batch = ops.generate(program, date(2026, 3, 1), maker).batch  # a draft: pending payments
    corrected = [dict(row) for row in SHANGHAI]
    corrected[2]["amount_fen"] = 18500
    ops.save_rule_table(program, date(2020, 1, 1), corrected, "更正", maker)
    outcome = ops.generate(program, date(2026, 3, 1), maker)
    assert outcome.added == 1
    rows = sorted(
        (p.status, p.amount_fen)
        for p in db.session.scalars(sa.select(Payment).where(Payment.batch_id == batch.id))
    )
    assert rows == [("excluded", 18000), ("pending", 18500)]
