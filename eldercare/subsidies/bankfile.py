"""The bank file of an approved batch (社会化发放): configurable columns, exact amounts, a
合计 row with the control totals; written row by row into a temporary file.

The file carries full ID and account numbers (the bank matches on them), so every export is
audited as a reveal.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from eldercare.core import audit, permissions
from eldercare.core.db import local_zone, utcnow
from eldercare.core.errors import AppError, Conflict
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.subsidies import periods
from eldercare.subsidies.models import Batch, BatchStatus, Payment, PaymentStatus, Program
from eldercare.subsidies.operations.batches import lock_batch

#: Payments that go into the file: approved ones, and those already sent whatever the bank
#: answered since (a re-export or a copy is the file as it was sent, adding up to the totals
#: frozen at approval).
IN_FILE = (
    PaymentStatus.APPROVED.value,
    PaymentStatus.EXPORTED.value,
    PaymentStatus.PAID.value,
    PaymentStatus.FAILED.value,
    PaymentStatus.RETURNED.value,
    PaymentStatus.REVERSED.value,
)
#: Batches that may be sent to the bank (an exported one again, if the bank asks for it).
EXPORTABLE = (BatchStatus.APPROVED.value, BatchStatus.EXPORTED.value)
#: Batches whose file is only given as a copy: the bank's return is in, sending it again
#: would pay everyone twice.
COPY_ONLY = (BatchStatus.RECONCILED.value,)
COPY_MARK = "副本"
FORMATS = ("xlsx", "csv")
MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}
TOTAL_LABEL = "合计"
#: Characters that make a spreadsheet read a CSV cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def yuan(fen: int) -> Decimal:
    """Integer fen as yuan with exactly two decimals (18000 -> Decimal('180.00'))."""
    return Decimal(int(fen)).scaleb(-2)


def yuan_text(fen: int) -> str:
    return format(yuan(fen), "f")


@dataclass(frozen=True)
class BankRow:
    """One payment as the bank file sees it (decrypted: never shown on a page)."""

    reference: int
    name: str
    id_number: str
    account_number: str
    bank_name: str
    amount_fen: int
    period: str
    program: str
    township: str


@dataclass(frozen=True)
class Column:
    #: The heading in the file: fixed Chinese, whatever the language of whoever downloads
    #: it (the bank's import reads it; a translation must never change it).
    header: str
    label: Any  # what a settings page calls the column, in the user's language
    value: Callable[[BankRow], Any]
    money: bool = False
    width: int = 14


COLUMNS: dict[str, Column] = {
    "reference": Column("业务参考号", _l("Payment reference"), lambda r: str(r.reference)),
    "name": Column("户名", _l("Account holder"), lambda r: r.name, width=12),
    "id_number": Column("身份证号", _l("ID number"), lambda r: r.id_number, width=22),
    "account_number": Column("账号", _l("Account number"), lambda r: r.account_number, width=24),
    "bank_name": Column("开户行", _l("Bank"), lambda r: r.bank_name, width=16),
    "amount": Column("金额（元）", _l("Amount (yuan)"), lambda r: yuan(r.amount_fen), money=True),
    "period": Column("发放期间", _l("Period"), lambda r: r.period, width=10),
    "program": Column("补贴项目", _l("Subsidy program"), lambda r: r.program, width=20),
    "township": Column("乡镇（街道）", _l("Township"), lambda r: r.township, width=16),
}
DEFAULT_COLUMNS = ("reference", "name", "id_number", "account_number", "bank_name", "amount")
#: The bank echoes the reference back, and pays the amount: a file without them is useless.
REQUIRED_COLUMNS = ("reference", "amount")


def column_errors(keys: list[str]) -> list[str]:
    """What is wrong with a program's list of bank columns (for the program form)."""
    errors = []
    unknown = [k for k in keys if k not in COLUMNS]
    if unknown:
        errors.append(_("Unknown bank file columns: %(keys)s.", keys=", ".join(unknown)))
    if len(set(keys)) != len(keys):
        errors.append(_("A bank file column is listed twice."))
    if keys and any(k not in keys for k in REQUIRED_COLUMNS):
        errors.append(_("A bank file needs the payment reference and the amount."))
    return errors


def columns_for(program: Program) -> list[str]:
    """The program's columns in order (the defaults when none are set); the reference and
    the amount are always there."""
    keys = [k for k in dict.fromkeys(program.bank_columns or ()) if k in COLUMNS]
    if not keys:
        return list(DEFAULT_COLUMNS)
    if "reference" not in keys:
        keys.insert(0, "reference")
    if "amount" not in keys:
        keys.append("amount")
    return keys


def _townships(program: Program) -> dict[str, str]:
    """Township names by the 9-digit prefix of their code, in the program's county."""
    rows = db.session.execute(
        sa.select(Region.code, Region.name).where(
            Region.code.startswith(program.region.prefix, autoescape=True),
            Region.level == "township",
        )
    )
    return {code[:9]: name for code, name in rows}


def bank_rows(batch: Batch) -> Iterator[BankRow]:
    """The batch's payments that go to the bank, in reference order, read in chunks."""
    program = batch.program
    townships = _townships(program)
    period = periods.label(program.frequency, batch.period)
    P = Person.__table__
    F = Facility.__table__
    R = Region.__table__
    PAY = Payment.__table__
    stmt = (
        sa.select(
            PAY.c.id,
            PAY.c.account_holder,
            PAY.c.account_number,
            PAY.c.bank_name,
            PAY.c.amount_fen,
            P.c.name.label("person_name"),
            P.c.id_number,
            F.c.name.label("facility_name"),
            F.c.licence_no,
            R.c.code,
        )
        .select_from(
            PAY.outerjoin(P, P.c.id == PAY.c.person_id)
            .outerjoin(F, F.c.id == PAY.c.facility_id)
            .join(R, R.c.id == PAY.c.region_id)
        )
        .where(PAY.c.batch_id == batch.id, PAY.c.status.in_(IN_FILE))
        .order_by(PAY.c.id)
        .execution_options(yield_per=5000)
    )
    for row in db.session.execute(stmt):
        yield BankRow(
            reference=row.id,
            name=row.account_holder or row.person_name or row.facility_name or "",
            # A facility is paid by its registration number (统一社会信用代码).
            id_number=row.id_number or row.licence_no or "",
            account_number=row.account_number or "",
            bank_name=row.bank_name,
            amount_fen=row.amount_fen,
            period=period,
            program=program.name,
            township=townships.get(row.code[:9], ""),
        )


@dataclass
class BankFile:
    path: str
    filename: str
    mimetype: str
    count: int
    total_fen: int


def _headers(keys: list[str]) -> list[str]:
    return [COLUMNS[k].header for k in keys]


def _total_row(keys: list[str], count: int, total_fen: int) -> list[Any]:
    """合计 in the first column that is not the amount, the number of payments in the next,
    the total under the amount."""
    cells: list[Any] = [""] * len(keys)
    others = [i for i, k in enumerate(keys) if k != "amount"]
    cells[others[0]] = TOTAL_LABEL
    if len(others) > 1:
        cells[others[1]] = f"共{count}笔"
    cells[keys.index("amount")] = yuan(total_fen)
    return cells


def _safe_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write_csv(path: str, keys: list[str], rows: Iterator[BankRow]) -> tuple[int, int]:
    count = total = 0
    columns = [COLUMNS[k] for k in keys]
    # UTF-8 with a BOM: Excel opens the Chinese names correctly only then.
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_headers(keys))
        for row in rows:
            writer.writerow(
                [
                    format(c.value(row), "f") if c.money else _safe_text(c.value(row))
                    for c in columns
                ]
            )
            count += 1
            total += row.amount_fen
        writer.writerow(
            [
                format(v, "f") if isinstance(v, Decimal) else v
                for v in _total_row(keys, count, total)
            ]
        )
    return count, total


def _local(moment) -> str:
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def _write_cover(wb: Workbook, batch: Batch, count: int, total: int, by) -> None:
    """A second sheet for the paperwork (the bank reads the first one as it is): what the
    file is, its area, when and by whom it was made, and lines to sign. A copy of a file the
    bank has answered says so at its top, and that it is not to be sent again."""
    program = batch.program
    sheet = wb.create_sheet("说明")
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 40
    label = periods.label(program.frequency, batch.period)
    copy = batch.status in COPY_ONLY
    title = f"{program.name} {label} 银行代发清单" + (f"（{COPY_MARK}）" if copy else "")
    if copy:
        notice = (
            COPY_MARK,
            f"本批次已于{_local(batch.exported_at)}报送银行，{_local(batch.reconciled_at)}"
            "对账完毕。此副本仅供查阅、存档，不得再次报送银行。",
        )
    elif batch.exported_at is not None:
        notice = (
            "再次导出",
            f"本批次已于{_local(batch.exported_at)}报送银行。再次报送前请与银行核实未曾入账。",
        )
    else:
        notice = ()
    for row in (
        (title,),
        notice,
        (),
        ("地区", program.region.name),
        ("补贴项目", f"{program.code} {program.name}"),
        ("发放期间", label),
        ("笔数", count),
        ("金额合计（元）", yuan(total)),
        ("制表时间", _local(utcnow())),
        ("制表人", by.display_name if by is not None else ""),
        ("审核人", batch.approved_by.display_name if batch.approved_by else ""),
        (),
        ("经办人签字", ""),
        ("审核人签字", ""),
        ("单位（盖章）", ""),
        ("日期", ""),
    ):
        sheet.append(list(row))


def _write_xlsx(
    path: str, keys: list[str], rows: Iterator[BankRow], title: str, cover=None
) -> tuple[int, int]:
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(title[:31])
    for index, key in enumerate(keys):
        sheet.column_dimensions[get_column_letter(index + 1)].width = COLUMNS[key].width
    columns = [COLUMNS[k] for k in keys]

    def cell(value, money=False, bold=False):
        c = WriteOnlyCell(sheet, value=value)
        if money:
            c.number_format = "0.00"
        elif isinstance(value, str):
            c.data_type = "s"  # text stays text: never a formula, long digits never 6.2E+18
        if bold:
            c.font = Font(bold=True)
        return c

    sheet.append([cell(h, bold=True) for h in _headers(keys)])
    count = total = 0
    for row in rows:
        sheet.append([cell(c.value(row), c.money) for c in columns])
        count += 1
        total += row.amount_fen
    sheet.append(
        [
            cell(v, money=k == "amount", bold=True)
            for k, v in zip(keys, _total_row(keys, count, total), strict=True)
        ]
    )
    if cover is not None:
        cover(wb, count, total)
    wb.save(path)
    return count, total


def write(batch: Batch, fmt: str, path: str, by=None) -> tuple[int, int]:
    """Write the batch's bank file to ``path``; (payments, total fen). The .csv is the
    bank's format alone; the .xlsx adds a sheet for the paperwork (made by ``by``)."""
    keys = columns_for(batch.program)
    rows = bank_rows(batch)
    if fmt == "csv":
        return _write_csv(path, keys, rows)
    title = f"{batch.program.code}-{periods.label(batch.program.frequency, batch.period)}"
    return _write_xlsx(
        path, keys, rows, title, lambda wb, n, fen: _write_cover(wb, batch, n, fen, by)
    )


def filename_for(batch: Batch, fmt: str) -> str:
    label = periods.label(batch.program.frequency, batch.period)
    copy = f"-{COPY_MARK}" if batch.status in COPY_ONLY else ""
    return f"bank-{batch.program.code}-{label}{copy}.{fmt}"


def expire_loaded_payments(batch: Batch) -> None:
    """Payments of the batch already in the session were changed by a set-based UPDATE
    behind its back: read them again when next used."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Payment) and sa.inspect(obj).dict.get("batch_id") == batch.id:
            db.session.expire(obj)


def export(batch: Batch, fmt: str, by) -> BankFile:
    """The bank file of an approved (or already exported) batch, in a temporary file the
    caller deletes. Approved payments become exported and the batch is marked sent; a
    re-export writes the same rows. A reconciled batch's file is given as a copy: the same
    rows, named and marked 副本, changing nothing. Audited as the reveal of the numbers it
    carries."""
    if fmt not in FORMATS:
        raise AppError(404)
    if not permissions.is_county_staff_of(by, batch.program.region):
        raise AppError(403, _l("Only county staff of this county may do this."))
    lock_batch(batch)
    copy = batch.status in COPY_ONLY
    if batch.status not in EXPORTABLE and not copy:
        raise Conflict(_l("Only an approved batch can be sent to the bank."))
    handle = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)  # noqa: SIM115
    handle.close()
    try:
        count, total = write(batch, fmt, handle.name, by)
    except BaseException:
        os.unlink(handle.name)
        raise
    PAY = Payment.__table__
    db.session.execute(
        sa.update(PAY)
        .where(PAY.c.batch_id == batch.id, PAY.c.status == PaymentStatus.APPROVED.value)
        .values(status=PaymentStatus.EXPORTED.value)
    )
    first = batch.status == BatchStatus.APPROVED.value
    if first:
        batch.status = BatchStatus.EXPORTED.value
        batch.exported_at = utcnow()
    db.session.flush()
    expire_loaded_payments(batch)
    audit.record(
        "subsidies.bank_file_exported",
        batch,
        actor=by,
        changes={
            "count": count,
            "total_fen": total,
            "total": yuan_text(total),
            "format": fmt,
            "columns": columns_for(batch.program),
            "first_export": first,
            "copy": copy,
        },
    )
    return BankFile(handle.name, filename_for(batch, fmt), MIMETYPES[fmt], count, total)
