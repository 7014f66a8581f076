"""The bank's return: every row checked first, all settled or none; the same file twice
changes nothing; the batch is reconciled when nothing is left at the bank."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from eldercare.core.audit import AuditLog
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.subsidies import reconciliation
from eldercare.subsidies.models import BatchStatus
from tests.subsidy_files.helpers import (
    all_paid,
    exported,
    payments_of,
    people_batch,
    return_csv,
)

BIRTHS = (date(1944, 2, 2), date(1934, 5, 6), date(1959, 8, 9))


def _import(batch, content: bytes, world, filename="return.csv"):
    return reconciliation.import_return(batch, filename, content, world.user("county_staff"))


@pytest.fixture
def sent(world):
    return exported(people_batch(world, BIRTHS))


def test_a_return_settles_every_payment_and_reconciles_the_batch(world, sent):
    a, b, c = payments_of(sent)
    content = return_csv(
        [
            (a.id, "180.00", "成功", ""),
            (b.id, "350", "失败", "账户已销户"),
            (c.id, "75.00", "退回", "户名不符"),
        ]
    )
    result = _import(sent, content, world)
    assert result.ok and result.rows == 3 and result.reconciled
    assert result.settled == {"paid": 1, "failed": 1, "returned": 1}
    a, b, c = payments_of(sent)
    assert [(p.status, p.bank_note) for p in (a, b, c)] == [
        ("paid", ""),
        ("failed", "账户已销户"),
        ("returned", "户名不符"),
    ]
    assert all(p.settled_at is not None for p in (a, b, c))
    assert sent.status == BatchStatus.RECONCILED.value and sent.reconciled_at is not None
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.bank_return_imported")
    )
    assert entry.entity_id == sent.id
    assert (entry.changes["paid"], entry.changes["failed"], entry.changes["returned"]) == (1, 1, 1)


def test_any_bad_row_means_nothing_is_recorded(world, sent):
    a, b, c = payments_of(sent)
    content = return_csv(
        [
            (a.id, "180.00", "成功", ""),  # fine
            (b.id, "350.01", "成功", ""),  # wrong amount
            ("999999", "75.00", "成功", ""),  # not a payment of the batch
            (a.id, "180.00", "成功", ""),  # twice
            (c.id, "75.00", "已入账?", ""),  # unknown result
            ("ABC", "七十五", "成功", ""),  # neither a reference nor an amount
        ]
    )
    result = _import(sent, content, world)
    assert not result.ok
    problems = [(e.row, e.column) for e in result.errors]
    assert problems == [
        (3, "金额（元）"),
        (4, "业务参考号"),
        (5, "业务参考号"),
        (6, "结果"),
        (7, "业务参考号"),
        (7, "金额（元）"),
    ]
    assert "350.00" in result.errors[0].reason and "350.01" in result.errors[0].reason
    assert "2" in result.errors[2].reason  # the row it repeats
    assert {p.status for p in payments_of(sent)} == {"exported"}
    assert sent.status == "exported"


def test_the_same_file_twice_changes_nothing(world, sent):
    content = all_paid(sent)
    first = _import(sent, content, world)
    assert first.ok and first.settled == {"paid": 3}
    settled = [p.settled_at for p in payments_of(sent)]
    again = _import(sent, content, world)
    assert again.ok and again.settled == {} and again.skipped == 3
    assert [p.settled_at for p in payments_of(sent)] == settled
    assert sent.status == "reconciled"


def test_a_different_result_for_a_settled_payment_is_an_error(world, sent):
    assert _import(sent, all_paid(sent), world).ok
    result = _import(sent, all_paid(sent, "失败"), world)
    assert not result.ok
    assert [e.row for e in result.errors] == [2, 3, 4]
    assert all(e.column == "结果" for e in result.errors)


def test_a_partial_return_leaves_the_batch_at_the_bank(world, sent):
    a, _b, _c = payments_of(sent)
    result = _import(sent, return_csv([(a.id, "180.00", "paid", "")]), world)
    assert result.ok and not result.reconciled
    assert sent.status == "exported"
    assert [p.status for p in payments_of(sent)] == ["paid", "exported", "exported"]


def test_english_headings_and_an_xlsx_file(world, sent):
    wb = Workbook()
    sheet = wb.active
    sheet.append(["Note", "Result", "Amount", "Reference"])
    for p in payments_of(sent):
        # Excel keeps the amount as a number and the reference as a number too.
        sheet.append(["", "returned", p.amount_fen / 100, p.id])
    buffer = io.BytesIO()
    wb.save(buffer)
    result = _import(sent, buffer.getvalue(), world, "RETURN.XLSX")
    assert result.ok, result.errors
    assert result.settled == {"returned": 3}


def test_our_own_file_sent_back_with_a_result_column_is_read(world, sent):
    rows = [(p.id, "", "", "", "", f"{p.amount_fen / 100:.2f}", "成功") for p in payments_of(sent)]
    rows.append(("合计", "共3笔", "", "", "", "605.00", ""))
    content = return_csv(
        rows, ("业务参考号", "户名", "身份证号", "账号", "开户行", "金额（元）", "结果")
    )
    result = _import(sent, content, world)
    assert result.ok and result.rows == 3 and result.reconciled


def test_a_batch_not_sent_takes_no_return(world):
    batch = people_batch(world)
    with pytest.raises(AppError) as refused:
        _import(batch, all_paid(batch), world)
    assert refused.value.code == 409


def test_the_page_lists_row_errors_and_imports_nothing(world, client, auth, sent):
    auth.login_as(world.user("county_staff"))
    a, _b, _c = payments_of(sent)
    bad = return_csv([(a.id, "1.00", "成功", "")])
    page = client.post(
        f"/subsidies/batches/{sent.id}/bank-return",
        data={"file": (io.BytesIO(bad), "return.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="import-errors"' in html and "<td>2</td>" in html
    good = all_paid(sent)
    response = client.post(
        f"/subsidies/batches/{sent.id}/bank-return",
        data={"file": (io.BytesIO(good), "return.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert 'id="batch-status"' in page and 'id="total-paid"' in page
    db.session.expire_all()
    assert {p.status for p in payments_of(sent)} == {"paid"}
