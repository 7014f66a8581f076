"""How far ahead a batch may be drawn up, back pay only for periods already due, a draft
batch voided or a payment left out of it with the reason, what the approver is warned of,
and empty batches never late."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.regions.models import CountySettings
from eldercare.subsidies import operations as ops
from eldercare.subsidies import queries, reports
from eldercare.subsidies.generation import draw
from eldercare.subsidies.models import Batch, Payment, PaymentKind, PaymentStatus
from eldercare.subsidies.operations import batches, enrolment_changes, enrolments
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged

TODAY = date(2026, 12, 7)
DECEMBER = date(2026, 12, 1)
JANUARY = date(2027, 1, 1)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    """Monday 7 December 2026, Beijing time, wherever the operations ask."""
    for module in (batches, enrolment_changes, enrolments, draw):
        monkeypatch.setattr(module, "local_today", lambda: TODAY)
    return TODAY


def _payments(batch, **where):
    query = sa.select(Payment).where(Payment.batch_id == batch.id)
    for key, value in where.items():
        query = query.where(getattr(Payment, key) == value)
    return list(db.session.scalars(query.order_by(Payment.period, Payment.id)))


def _batches(program) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Batch).where(Batch.program_id == program.id)
    )


def _enrolled(world, program, **kw):
    her = person_aged(world, date(1944, 2, 2), name=kw.pop("name", "王秀兰"))
    enrol(world, program, her, applied_on=kw.pop("applied_on", date(2026, 11, 2)), **kw)
    return her


# --- how far ahead -------------------------------------------------------------------------


def test_a_batch_far_ahead_is_refused_by_the_operation_and_nothing_is_written(world):
    program = make_program(world)
    _enrolled(world, program)
    with pytest.raises(AppError) as refused:
        ops.generate(program, date(2030, 1, 1), world.user("county_staff"))
    assert refused.value.code == 422
    message = str(refused.value.errors["period"][0])
    assert "2030-01" in message and "2027-01" in message
    db.session.rollback()
    assert _batches(program) == 0


def test_the_running_period_and_the_next_one_may_be_drawn_up(world):
    program = make_program(world)
    _enrolled(world, program)
    maker = world.user("county_staff")
    assert ops.generate(program, DECEMBER, maker).batch.period == DECEMBER
    assert ops.generate(program, JANUARY, maker).batch.period == JANUARY
    with pytest.raises(AppError):
        ops.generate(program, date(2027, 2, 1), maker)


def test_how_far_ahead_is_the_county_setting(world):
    program = make_program(world)
    _enrolled(world, program)
    maker = world.user("county_staff")
    settings = CountySettings(region_id=world.county_a.id, subsidy_periods_ahead=0)
    db.session.add(settings)
    db.session.flush()
    with pytest.raises(AppError):
        ops.generate(program, JANUARY, maker)
    settings.subsidy_periods_ahead = 3
    db.session.flush()
    assert ops.generate(program, date(2027, 3, 1), maker).batch is not None


def test_a_quarterly_program_counts_periods_in_quarters(world):
    program = make_program(world, code="JD", frequency="quarterly")
    maker = world.user("county_staff")
    assert ops.generate(program, date(2027, 1, 1), maker).batch is not None  # next quarter
    with pytest.raises(AppError):
        ops.generate(program, date(2027, 4, 1), maker)


def test_a_far_future_batch_made_before_the_bound_is_not_approved(world):
    program = make_program(world)
    _enrolled(world, program)
    batch = ops.batch_for(program, date(2030, 1, 1), world.user("county_staff"))
    db.session.flush()
    with pytest.raises(AppError) as refused:
        ops.approve(batch, county_staff(world, "checker"))
    assert "2030-01" in str(refused.value.errors["period"][0])


def test_the_page_refuses_a_far_period_in_chinese_and_keeps_it(world, client, auth):
    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    response = client.post(f"/subsidies/programs/{program.id}/batches", data={"period": "2030-01"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "2030-01 太远" in page and "2027-01" in page
    assert 'value="2030-01"' in page
    assert _batches(program) == 0


def test_the_page_says_what_is_wrong_with_a_month_that_does_not_exist(world, client, auth):
    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    response = client.post(f"/subsidies/programs/{program.id}/batches", data={"period": "2026-13"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "月份只有 01 到 12" in page
    assert 'value="2026-13"' in page


# --- back pay only for periods already due -------------------------------------------------


def test_back_pay_is_only_for_periods_already_due(world):
    """Enrolled late with back pay from October: the January batch, drawn up ahead, pays
    October and November as back pay but leaves December to December's own batch."""
    program = make_program(world)
    her = _enrolled(
        world,
        program,
        applied_on=date(2026, 12, 2),
        start_month=date(2026, 10, 1),
        back_pay_reason="late_registration",
    )
    maker = world.user("county_staff")
    january = ops.generate(program, JANUARY, maker).batch
    assert [(p.period, p.kind) for p in _payments(january, person_id=her.id)] == [
        (date(2026, 10, 1), PaymentKind.BACK_PAY.value),
        (date(2026, 11, 1), PaymentKind.BACK_PAY.value),
        (JANUARY, PaymentKind.REGULAR.value),
    ]
    december = ops.generate(program, DECEMBER, maker).batch
    assert [(p.period, p.kind) for p in _payments(december, person_id=her.id)] == [
        (DECEMBER, PaymentKind.REGULAR.value)
    ]


# --- voiding a draft, excluding a payment --------------------------------------------------


def test_a_draft_batch_is_voided_with_the_reason_and_its_periods_are_free(world):
    program = make_program(world)
    her = _enrolled(
        world,
        program,
        applied_on=date(2026, 12, 2),
        start_month=date(2026, 10, 1),
        back_pay_reason="late_registration",
    )
    maker = world.user("county_staff")
    january = ops.generate(program, JANUARY, maker).batch
    batch_id = january.id
    with pytest.raises(AppError):
        ops.void_batch(january, "  ", maker)
    summary = ops.void_batch(january, "期间填错", maker)
    assert summary["payments"] == 3
    assert db.session.get(Batch, batch_id) is None
    assert not db.session.scalars(sa.select(Payment).where(Payment.person_id == her.id)).all()
    voided = sa.select(AuditLog).where(AuditLog.action == "subsidies.batch_voided")
    entry = db.session.scalar(voided)
    assert entry.entity_id == batch_id and entry.changes["reason"] == "期间填错"
    december = ops.generate(program, DECEMBER, maker).batch
    assert [p.period for p in _payments(december, person_id=her.id)] == [
        date(2026, 10, 1),
        date(2026, 11, 1),
        DECEMBER,
    ]


def test_an_approved_batch_is_never_voided(world):
    program = make_program(world)
    _enrolled(world, program)
    batch = ops.generate(program, DECEMBER, world.user("county_staff")).batch
    assert ops.approve(batch, county_staff(world, "checker")).approved
    with pytest.raises(AppError) as refused:
        ops.void_batch(batch, "重做", world.user("county_staff"))
    assert refused.value.code == 409


def test_a_payment_excluded_with_a_reason_stays_out_and_stays_owed(world):
    program = make_program(world)
    her = _enrolled(world, program)
    maker = world.user("county_staff")
    batch = ops.generate(program, DECEMBER, maker).batch
    (payment,) = _payments(batch, person_id=her.id, period=DECEMBER)
    with pytest.raises(AppError):
        ops.exclude_payment(payment, "", maker)
    ops.exclude_payment(payment, "账户待核实", maker)
    assert (payment.status, payment.exception, payment.note) == (
        PaymentStatus.EXCLUDED.value,
        "manual",
        "账户待核实",
    )
    assert ops.generate(program, DECEMBER, maker).added == 0
    assert ops.approve(batch, county_staff(world, "checker")).approved
    assert payment.enrolment.arrears_from == DECEMBER
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.payment_excluded")
    )
    assert entry.changes["reason"] == "账户待核实"


# --- what the approver is warned of --------------------------------------------------------


def test_the_approver_is_warned_of_other_holders_shared_accounts_and_back_pay(world):
    program = make_program(world)
    shared = "6222029999888877776"
    her = person_aged(world, date(1944, 2, 2), name="王秀兰")
    him = person_aged(world, date(1940, 1, 1), sex="M", name="李建国")
    late = person_aged(world, date(1930, 1, 1), name="赵桂英")
    enrol(world, program, her, applied_on=date(2026, 12, 2), account=shared)
    enrolment = enrol(world, program, him, applied_on=date(2026, 12, 2), account=shared)
    enrolment.account_holder = "李小明"
    enrol(
        world,
        program,
        late,
        applied_on=date(2026, 12, 2),
        start_month=date(2026, 10, 1),
        back_pay_reason="late_registration",
    )
    batch = ops.generate(program, DECEMBER, world.user("county_staff")).batch
    risks = queries.approval_risks(batch)
    assert [(e.beneficiary_name, e.account_holder) for e in risks.other_holder] == [
        ("李建国", "李小明")
    ]
    assert [sorted(names) for _masked, names in risks.shared_accounts] == [["李建国", "王秀兰"]]
    assert (risks.back_pay_count, risks.back_pay_fen) == (2, 2 * 35000)


def test_the_batch_page_shows_the_warnings(world, client, auth):
    program = make_program(world)
    him = person_aged(world, date(1940, 1, 1), sex="M", name="李建国")
    enrolment = enrol(world, program, him, applied_on=date(2026, 11, 2))
    enrolment.account_holder = "李小明"
    batch = ops.generate(program, DECEMBER, world.user("county_staff")).batch
    db.session.flush()
    auth.login_as(county_staff(world, "checker"))
    page = client.get(f"/subsidies/batches/{batch.id}").get_data(as_text=True)
    assert 'id="risks"' in page and "李小明" in page


# --- empty batches are never late ----------------------------------------------------------


def test_an_empty_batch_is_not_paid_late(world):
    program = make_program(world)
    ops.generate(program, date(2026, 10, 1), world.user("county_staff"))
    (found,) = reports.punctuality([program], [date(2026, 10, 1)], TODAY)
    assert (found.due, found.on_time) == (0, 0)


def test_excluding_or_voiding_without_a_reason_says_what_to_type(world, client, auth):
    program = make_program(world)
    _enrolled(world, program)
    batch = ops.generate(program, DECEMBER, world.user("county_staff")).batch
    (payment,) = _payments(batch, period=DECEMBER)
    db.session.flush()
    auth.login_as(world.user("county_staff"))
    excluded = client.post(f"/subsidies/batches/{batch.id}/payments/{payment.id}/exclude")
    assert excluded.status_code == 422
    assert "请填写剔除该笔发放的原因。" in excluded.get_data(as_text=True)
    voided = client.post(f"/subsidies/batches/{batch.id}/void", data={"reason": ""})
    assert voided.status_code == 422
    assert "请填写作废批次的原因。" in voided.get_data(as_text=True)
    assert db.session.get(Batch, batch.id) is not None
