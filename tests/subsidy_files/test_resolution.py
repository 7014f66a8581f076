"""Payments that did not arrive are re-issued in the next batch once, or not at all; a paid
payment is corrected by a reversal entry, never by an edit."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from eldercare.subsidies import reconciliation
from eldercare.subsidies.models import Enrolment, Payment
from tests.subsidy_files.helpers import (
    APRIL,
    MARCH,
    colleague,
    exported,
    payments_of,
    people_batch,
    return_csv,
)

MAY = date(2026, 5, 1)


def _settle(world, batch, result: str, note: str = "账户冻结") -> Payment:
    (payment,) = payments_of(batch)
    content = return_csv([(payment.id, "180.00", result, note)])
    outcome = reconciliation.import_return(batch, "r.csv", content, world.user("county_staff"))
    assert outcome.ok, outcome.errors
    return payments_of(batch)[0]


@pytest.fixture
def failed(world):
    batch = exported(people_batch(world))
    return _settle(world, batch, "失败")


def _next(world, program, period):
    return ops.generate(program, period, world.user("county_staff")).batch


def test_a_reissue_goes_into_the_next_batch_exactly_once(world, failed):
    staff = world.user("county_staff")
    reconciliation.resolve(failed, "reissue", staff, note="已更换银行卡")
    # The person has given a new account since: the re-issue goes there.
    ops.change_account(failed.enrolment, {"account_number": "6228480000000000001"}, staff)
    april = _next(world, failed.program, APRIL)
    again = _next(world, failed.program, APRIL)  # drawn up again: nothing new
    assert again.id == april.id
    rows = [(p.period, p.kind, p.reissue_of_id, p.amount_fen) for p in payments_of(april)]
    assert sorted(rows, key=str) == sorted(
        [(MARCH, "reissue", failed.id, 18000), (APRIL, "regular", None, 18000)], key=str
    )
    assert ops.approve(april, colleague(world)).approved
    reissue = next(p for p in payments_of(april) if p.kind == "reissue")
    assert reissue.account_number == "6228480000000000001"
    may = _next(world, failed.program, MAY)
    assert [p.kind for p in payments_of(may)] == ["regular"]
    assert db.session.get(Payment, failed.id).status == "failed"  # the original stays
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.payment_resolved")
    )
    assert entry.entity_id == failed.id and entry.changes["resolution"] == "reissue"


def test_not_reissued_and_the_enrolment_stopped(world, failed):
    staff = world.user("county_staff")
    with pytest.raises(AppError) as refused:
        reconciliation.resolve(failed, "stop", staff)
    assert "note" in refused.value.errors
    reconciliation.resolve(
        failed,
        "stop",
        staff,
        note="本人已迁居外省",
        enrolment_action="stop",
        reason="moved_out",
        from_month=APRIL,
    )
    enrolment = db.session.get(Enrolment, failed.enrolment_id)
    assert (enrolment.status, enrolment.stop_reason, enrolment.stop_month) == (
        "stopped",
        "moved_out",
        APRIL,
    )
    assert payments_of(_next(world, failed.program, APRIL)) == []
    with pytest.raises(AppError) as refused:
        reconciliation.resolve(failed, "reissue", staff)
    assert refused.value.code == 409


def test_not_reissued_and_the_enrolment_suspended(world, failed):
    reconciliation.resolve(
        failed,
        "stop",
        world.user("county_staff"),
        note="联系不上",
        enrolment_action="suspend",
        reason="out_of_contact",
    )
    enrolment = db.session.get(Enrolment, failed.enrolment_id)
    assert (enrolment.status, enrolment.suspended_from) == ("suspended", MARCH)


def test_only_county_staff_resolve_and_only_what_did_not_arrive(world, failed):
    with pytest.raises(AppError) as refused:
        reconciliation.resolve(failed, "reissue", world.user("township_staff"))
    assert refused.value.code == 403
    paid = _settle(world, exported(people_batch(world, code="GL2")), "成功")
    with pytest.raises(AppError) as refused:
        reconciliation.resolve(paid, "reissue", world.user("county_staff"))
    assert refused.value.code == 409


def test_a_returned_payment_resolved_from_the_page(world, client, auth):
    returned = _settle(world, exported(people_batch(world)), "退回", "户名不符")
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/subsidies/batches/{returned.batch_id}/bank-return")
    html = page.get_data(as_text=True)
    assert f'id="payment-{returned.id}"' in html and "户名不符" in html
    response = client.post(
        f"/subsidies/payments/{returned.id}/resolve", data={"resolution": "reissue"}
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/subsidies/batches/{returned.batch_id}/bank-return")
    db.session.expire_all()
    assert db.session.get(Payment, returned.id).resolution == "reissue"
    # Twice is refused with a message, not an error page.
    again = client.post(
        f"/subsidies/payments/{returned.id}/resolve", data={"resolution": "reissue"}
    )
    assert again.status_code == 302
    assert "alert-danger" in client.get(again.location).get_data(as_text=True)


def test_a_reversal_is_a_negative_entry_and_the_original_is_untouched(world, client, auth):
    paid = _settle(world, exported(people_batch(world)), "成功")
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/subsidies/batches/{paid.batch_id}/bank-return?ref={paid.id}")
    assert 'id="found-payment"' in page.get_data(as_text=True)
    response = client.post(
        f"/subsidies/payments/{paid.id}/reverse", data={"reason": "重复发放", "repay": ""}
    )
    assert response.status_code == 302
    db.session.expire_all()
    original = db.session.get(Payment, paid.id)
    entry = db.session.scalar(sa.select(Payment).where(Payment.reverses_id == paid.id))
    assert (original.amount_fen, original.status, original.batch_id) == (
        18000,
        "reversed",
        paid.batch_id,
    )
    assert (entry.amount_fen, entry.kind, entry.status, entry.batch_id, entry.period) == (
        -18000,
        "reversal",
        "recorded",
        None,
        MARCH,
    )
    assert entry.note == "重复发放"
    # A second reversal of the same payment is refused.
    again = client.post(f"/subsidies/payments/{paid.id}/reverse", data={"reason": "再次"})
    assert again.status_code == 302
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Payment).where(Payment.kind == "reversal")
        )
        == 1
    )
    # Without "pay again", the period is not paid again.
    assert [p.period for p in payments_of(_next(world, paid.program, APRIL))] == [APRIL]


def test_a_reversal_with_repay_pays_the_period_again(world):
    paid = _settle(world, exported(people_batch(world)), "成功")
    ops.reverse(paid, "金额有误", world.user("county_staff"), repay=True)
    april = _next(world, paid.program, APRIL)
    assert sorted((p.period, p.kind) for p in payments_of(april)) == [
        (MARCH, "back_pay"),
        (APRIL, "regular"),
    ]
