"""The bank file: the columns the program asks for, exact amounts, the 合计 row, only what
is approved; sending it marks the batch and is on record as a reveal."""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from eldercare.core.audit import AuditLog
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.subsidies import bankfile
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import BatchStatus, Payment, PaymentStatus
from tests.subsidies.helpers import enrol, make_program, person_aged
from tests.subsidy_files.helpers import MARCH, colleague, payments_of, people_batch

# 180.00 (80-89) + 350.00 (90-99) + 75.00 (65-69): the total is 605.00 yuan.
BIRTHS = (date(1944, 2, 2), date(1934, 5, 6), date(1959, 8, 9))


def _export(batch, fmt, by):
    file = bankfile.export(batch, fmt, by)
    try:
        with open(file.path, "rb") as handle:
            return file, handle.read()
    finally:
        os.unlink(file.path)


def _xlsx_rows(content: bytes):
    wb = load_workbook(io.BytesIO(content))
    return wb.worksheets[0]


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read Chinese"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_the_default_columns_and_the_totals_in_xlsx(world):
    batch = people_batch(world, BIRTHS)
    file, content = _export(batch, "xlsx", world.user("county_staff"))
    sheet = _xlsx_rows(content)
    rows = list(sheet.values)
    assert rows[0] == ("业务参考号", "户名", "身份证号", "账号", "开户行", "金额（元）")
    body, total = rows[1:-1], rows[-1]
    payments = payments_of(batch)
    assert [r[0] for r in body] == [str(p.id) for p in payments]
    people = {p.id: p.person for p in payments}
    for row in body:
        person = people[int(row[0])]
        assert row[1] == person.name
        assert row[2] == person.id_number  # the full number: the bank matches on it
        assert row[3] == "6222021234567890123"
        assert row[4] == "农业银行"
    assert sorted(Decimal(str(r[5])) for r in body) == [
        Decimal("75.00"),
        Decimal("180.00"),
        Decimal("350.00"),
    ]
    assert total[0] == "合计" and total[1] == "共3笔"
    assert Decimal(str(total[5])) == Decimal("605.00")
    # The amounts are numbers with two decimals, not text.
    amounts = [row[5] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.number_format == "0.00" and cell.data_type == "n" for cell in amounts)
    assert (file.count, file.total_fen) == (3, 60500)
    assert file.filename == "bank-GL-2026-03.xlsx"


def test_the_program_chooses_the_columns_and_csv_amounts_are_exact(world):
    program = make_program(world)
    program.bank_columns = ["township", "name", "amount", "period", "program", "reference"]
    batch = people_batch(world, BIRTHS, program=program)
    _file, content = _export(batch, "csv", world.user("county_staff"))
    rows = _csv_rows(content)
    assert rows[0] == ["乡镇（街道）", "户名", "金额（元）", "发放期间", "补贴项目", "业务参考号"]
    assert {r[0] for r in rows[1:-1]} == {"马营镇"}
    assert sorted(r[2] for r in rows[1:-1]) == ["180.00", "350.00", "75.00"]
    assert {(r[3], r[4]) for r in rows[1:-1]} == {("2026-03", "高龄津贴")}
    assert rows[-1][:3] == ["合计", "共3笔", "605.00"]


def test_columns_without_the_reference_or_amount_get_them_back():
    from types import SimpleNamespace

    assert bankfile.columns_for(SimpleNamespace(bank_columns=[])) == list(bankfile.DEFAULT_COLUMNS)
    program = SimpleNamespace(bank_columns=["name", "nonsense", "name"])
    assert bankfile.columns_for(program) == ["reference", "name", "amount"]
    assert bankfile.column_errors(["name", "nonsense"])
    assert bankfile.column_errors(["reference", "amount", "name"]) == []


def test_amounts_are_exact_to_the_fen():
    assert bankfile.yuan_text(1) == "0.01"
    assert bankfile.yuan_text(123456789) == "1234567.89"
    assert bankfile.yuan_text(-18000) == "-180.00"
    assert bankfile.yuan_text(0) == "0.00"


def test_only_approved_payments_are_in_the_file(world):
    program = make_program(world)
    kept = person_aged(world, date(1944, 2, 2))
    dead = person_aged(world, date(1940, 1, 1))
    for person in (kept, dead):
        enrol(world, program, person, applied_on=date(2026, 3, 2))
    batch = ops.generate(program, MARCH, world.user("county_staff")).batch
    dead.death_date = date(2026, 2, 20)
    db.session.flush()
    checker = colleague(world)
    ops.approve(batch, checker)  # finds the death: the payment is excluded
    assert ops.approve(batch, checker).approved
    _file, content = _export(batch, "csv", world.user("county_staff"))
    rows = _csv_rows(content)
    assert len(rows) == 3 and rows[-1] == ["合计", "共1笔", "", "", "", "180.00"]
    statuses = {p.person_id: p.status for p in payments_of(batch)}
    assert statuses == {kept.id: "exported", dead.id: "excluded"}


def test_export_marks_the_batch_sent_and_is_audited_as_a_reveal(world):
    batch = people_batch(world, BIRTHS)
    staff = world.user("county_staff")
    _file, first = _export(batch, "xlsx", staff)
    assert batch.status == BatchStatus.EXPORTED.value and batch.exported_at is not None
    sent_at = batch.exported_at
    assert {p.status for p in payments_of(batch)} == {PaymentStatus.EXPORTED.value}
    _file, again = _export(batch, "xlsx", colleague(world))
    assert list(_xlsx_rows(again).values) == list(_xlsx_rows(first).values)
    assert batch.exported_at == sent_at  # the first sending counts for "on time"
    entries = db.session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.action == "subsidies.bank_file_exported")
        .order_by(AuditLog.id)
    ).all()
    assert [e.entity_id for e in entries] == [batch.id, batch.id]
    assert entries[0].changes["count"] == 3
    assert entries[0].changes["total_fen"] == 60500
    assert entries[0].changes["format"] == "xlsx"
    assert entries[0].changes["first_export"] is True
    assert entries[1].changes["first_export"] is False


def test_a_draft_batch_has_no_bank_file_and_township_staff_none_at_all(world):
    program = make_program(world)
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 2))
    batch = ops.generate(program, MARCH, world.user("county_staff")).batch
    with pytest.raises(AppError) as refused:
        bankfile.export(batch, "xlsx", world.user("county_staff"))
    assert refused.value.code == 409
    assert db.session.scalar(sa.select(Payment.status).where(Payment.batch_id == batch.id)) == (
        "pending"
    )
    with pytest.raises(AppError) as refused:
        bankfile.export(batch, "xlsx", world.user("township_staff"))
    assert refused.value.code == 403


def test_a_name_like_a_formula_stays_text(world):
    batch = people_batch(world)
    db.session.execute(
        sa.update(Payment).where(Payment.batch_id == batch.id).values(account_holder="=1+2")
    )
    _file, content = _export(batch, "csv", world.user("county_staff"))
    assert _csv_rows(content)[1][1] == "'=1+2"
    _file, content = _export(batch, "xlsx", world.user("county_staff"))
    cell = _xlsx_rows(content)["B2"]
    assert cell.value == "=1+2" and cell.data_type == "s"


def test_the_download_route_streams_the_file(world, client, auth):
    batch = people_batch(world, BIRTHS)
    auth.login_as(world.user("county_staff"))
    response = client.get(f"/subsidies/batches/{batch.id}/bank-file.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "bank-GL-2026-03.csv" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = _csv_rows(response.data)
    assert rows[-1] == ["合计", "共3笔", "", "", "", "605.00"]
    db.session.expire_all()
    assert db.session.get(type(batch), batch.id).status == "exported"
    assert client.get(f"/subsidies/batches/{batch.id}/bank-file.pdf").status_code == 404


def _returned(batch, world, results) -> None:
    from eldercare.subsidies import reconciliation
    from tests.subsidy_files.helpers import return_csv

    rows = [
        (p.id, bankfile.yuan_text(p.amount_fen), result, "")
        for p, result in zip(payments_of(batch), results, strict=False)
    ]
    staff = world.user("county_staff")
    assert reconciliation.import_return(batch, "return.csv", return_csv(rows), staff).ok


def test_a_re_export_after_a_partial_return_is_still_the_file_as_sent(world):
    batch = people_batch(world, BIRTHS)
    _file, first = _export(batch, "csv", world.user("county_staff"))
    _returned(batch, world, ["成功"])  # one of three answered
    _file, again = _export(batch, "csv", world.user("county_staff"))
    assert _csv_rows(again) == _csv_rows(first)
    assert _csv_rows(again)[-1] == ["合计", "共3笔", "", "", "", "605.00"]


def test_a_reconciled_batch_gives_a_copy_of_the_file_as_sent_changing_nothing(world):
    batch = people_batch(world, BIRTHS)
    staff = world.user("county_staff")
    _file, first = _export(batch, "xlsx", staff)
    _returned(batch, world, ["成功", "失败", "成功"])
    assert batch.status == BatchStatus.RECONCILED.value
    statuses = [p.status for p in payments_of(batch)]

    file, copy = _export(batch, "xlsx", staff)
    assert file.filename == "bank-GL-2026-03-副本.xlsx"
    book = load_workbook(io.BytesIO(copy))
    assert list(book.worksheets[0].values) == list(_xlsx_rows(first).values)
    cover = [row for row in book["说明"].values if any(row)]
    assert cover[0][0].endswith("（副本）")
    assert cover[1][0] == "副本" and "不得再次报送银行" in cover[1][1]
    assert [p.status for p in payments_of(batch)] == statuses  # nothing changes
    assert db.session.get(type(batch), batch.id).status == BatchStatus.RECONCILED.value
    file, csv_copy = _export(batch, "csv", staff)
    assert file.filename == "bank-GL-2026-03-副本.csv"
    assert _csv_rows(csv_copy)[-1] == ["合计", "共3笔", "", "", "", "605.00"]
    entries = db.session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.action == "subsidies.bank_file_exported")
        .order_by(AuditLog.id)
    ).all()
    assert [(e.changes["copy"], e.changes["first_export"]) for e in entries] == [
        (False, True),
        (True, False),
        (True, False),
    ]


def test_the_page_of_a_reconciled_batch_offers_the_copy_and_it_opens(world, client, auth):
    batch = people_batch(world, BIRTHS)
    staff = world.user("county_staff")
    _export(batch, "csv", staff)
    _returned(batch, world, ["成功", "成功", "成功"])
    db.session.commit()
    auth.login_as(staff)
    page = client.get(f"/subsidies/batches/{batch.id}").get_data(as_text=True)
    assert "银行代发文件副本（.xlsx）" in page and "切勿再次报送银行" in page
    for fmt in ("xlsx", "csv"):
        url = f"/subsidies/batches/{batch.id}/bank-file.{fmt}"
        assert url in page
        response = client.get(url)
        assert response.status_code == 200
        assert "%E5%89%AF%E6%9C%AC" in response.headers["Content-Disposition"]  # 副本
