"""A stop (or suspension) "from month X" must not stop the months before X."""

from datetime import date

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Payment
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged


def _rows(batch):
    return [
        (p.period, p.kind, p.amount_fen, p.status)
        for p in db.session.scalars(
            sa.select(Payment).where(Payment.batch_id == batch.id).order_by(Payment.period)
        )
    ]


def test_month_of_death_is_paid_in_an_arrears_program(world):
    # Paid in arrears: March's money is drawn up in April. She died on 20 March; the
    # sweep (like the event) says the month of death is due in full.
    program = make_program(world, timing="arrears")
    her = person_aged(world, date(1940, 1, 1))
    enrol(world, program, her, applied_on=date(2026, 3, 2))
    her.death_date = date(2026, 3, 20)
    db.session.flush()
    ops.repair_departed()
    batch = ops.generate(program, date(2026, 3, 1), world.user("county_staff")).batch
    assert _rows(batch) == [(date(2026, 3, 1), "regular", 18000, "pending")]


def test_month_of_death_is_paid_when_the_death_is_recorded_before_approval(world):
    program = make_program(world)  # monthly, in advance
    her = person_aged(world, date(1940, 1, 1))
    enrol(world, program, her, applied_on=date(2026, 2, 2))
    maker = world.user("county_staff")
    ops.approve(ops.generate(program, date(2026, 2, 1), maker).batch, county_staff(world, "c0"))
    march = ops.generate(program, date(2026, 3, 1), maker).batch
    her.death_date = date(2026, 3, 3)  # died after the 1st: March is due in full
    db.session.flush()
    ops.repair_departed()
    outcome = ops.approve(march, county_staff(world, "checker"))
    assert outcome.approved, _rows(march)
    assert (march.payment_count, march.total_fen) == (1, 18000)


def test_stop_from_a_later_month_still_pays_the_months_before_it(world):
    program = make_program(world)
    enrolment = enrol(
        world, program, person_aged(world, date(1945, 3, 15)), applied_on=date(2026, 3, 2)
    )
    maker = world.user("county_staff")
    # On 20 March the county records: household moves out at the end of April, stop from May.
    ops.stop(enrolment, "moved_out", date(2026, 5, 1), "迁出", maker)
    assert enrolment.stop_month == date(2026, 5, 1)
    april = ops.generate(program, date(2026, 4, 1), maker).batch
    assert [(p[0].month, p[2]) for p in _rows(april)] == [(3, 18000), (4, 18000)]


def test_suspension_from_a_later_month_still_pays_this_month(world):
    program = make_program(world)
    enrolment = enrol(
        world, program, person_aged(world, date(1945, 3, 15)), applied_on=date(2026, 3, 2)
    )
    maker = world.user("county_staff")
    ops.approve(ops.generate(program, date(2026, 3, 1), maker).batch, county_staff(world, "c"))
    ops.suspend(enrolment, "existence_check", date(2026, 5, 1), "五月起未认证则暂停", maker)
    april = ops.generate(program, date(2026, 4, 1), maker).batch
    assert [(p[0].month, p[2]) for p in _rows(april)] == [(4, 18000)]
