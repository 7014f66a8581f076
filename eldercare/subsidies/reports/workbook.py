"""The .xlsx export of a subsidy report: every table of the page as a sheet."""

from __future__ import annotations

import tempfile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from eldercare.core.db import local_zone, utcnow
from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.spreadsheets import append_row
from eldercare.subsidies.bankfile import yuan
from eldercare.subsidies.models import (
    PAYMENT_LABELS,
    PaymentStatus,
)
from eldercare.subsidies.reports.model import Cell, Report, kind_label


def _money(sheet: WriteOnlyWorksheet, fen: int | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=yuan(fen) if fen is not None else None)
    cell.number_format = "0.00"
    return cell


def _percent(share: float | None):
    return round(share * 100, 1) if share is not None else None


def _ledger_table(sheet: WriteOnlyWorksheet, r: Report) -> None:
    """The page's table of payments by kind and status, as the page shows it: a row per kind
    (类型, as the page heads it), a column pair (笔数, 金额) per status and for the kind's
    total, a 合计 row of the status totals and the grand total; a status a kind has none of
    is "—"."""
    statuses = r.statuses
    append_row(sheet, ("按类别和状态统计",))
    if not r.ledger:
        append_row(sheet, ("无。",))
        return
    labels = [str(PAYMENT_LABELS[PaymentStatus(s)]) for s in statuses]
    append_row(sheet, ("类型", *(x for label in [*labels, "合计"] for x in (label, ""))))
    append_row(sheet, ("", *(["笔数", "金额（元）"] * (len(statuses) + 1))))

    def pair(cell: Cell | None) -> tuple:
        return (cell.count, _money(sheet, cell.fen)) if cell else ("—", "—")

    for kind in r.kinds:
        row = r.ledger[kind]
        cells = [x for s in statuses for x in pair(row.get(s))]
        append_row(sheet, (kind_label(kind), *cells, *pair(r.kind_total(kind))))
    totals = [x for s in statuses for x in pair(r.status_total(s))]
    append_row(sheet, ("合计", *totals, *pair(r.total)))


def report_xlsx(report: Report, made_by: str = "") -> str:
    """Every table of the report as a sheet of an .xlsx (ID numbers masked), under a title
    with the area, when and by whom it was made; its path."""
    wb = Workbook(write_only=True)
    r = report
    with speaking(DEFAULT_LOCALE):
        sheet = wb.create_sheet("汇总")
        for row in (
            (f"{r.area.name} {r.program.name} {r.period_label} 补贴发放报表",),
            ("地区", r.area.name),
            ("补贴项目", r.program.name),
            ("发放期间", r.period_label),
            ("批次状态", r.batch.status_label if r.batch else "未生成"),
            ("制表时间", utcnow().astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")),
            ("制表人", made_by),
        ):
            append_row(sheet, row)
        append_row(sheet, ())
        _ledger_table(sheet, r)

        sheet = wb.create_sheet("新增")
        append_row(sheet, ("姓名", "身份证号", "地区", "本期金额（元）", "类别"))
        for line in r.new:
            append_row(
                sheet,
                (line.name, line.id_masked, line.area, _money(sheet, line.amount_fen), line.kind),
            )
        append_row(sheet, ("合计", f"{r.new_count}人"))

        sheet = wb.create_sheet("停发")
        append_row(sheet, ("姓名", "身份证号", "地区", "上期金额（元）", "停发原因"))
        for line in r.stopped:
            append_row(
                sheet,
                (line.name, line.id_masked, line.area, _money(sheet, line.amount_fen), line.reason),
            )
        append_row(sheet, ("合计", f"{r.stopped_count}人"))

        sheet = wb.create_sheet("补发")
        append_row(sheet, ("姓名", "身份证号", "地区", "补发期间", "金额（元）", "补发原因"))
        for line in r.back_pay:
            append_row(
                sheet,
                (
                    line.name,
                    line.id_masked,
                    line.area,
                    line.period,
                    _money(sheet, line.amount_fen),
                    line.reason,
                ),
            )
        append_row(
            sheet,
            (
                "合计",
                f"{r.back_pay_count}笔",
                "",
                "",
                _money(sheet, sum(line.amount_fen for line in r.back_pay)),
            ),
        )

        sheet = wb.create_sheet("近12个月发放金额")
        append_row(sheet, ("月份", *(s.program.name for s in r.series)))
        for i, month in enumerate(r.months):
            append_row(
                sheet,
                (f"{month:%Y-%m}", *(_money(sheet, s.amounts_fen[i]) for s in r.series)),
            )

        sheet = wb.create_sheet("按时发放")
        append_row(sheet, ("补贴项目", "应发期数", "按时发放", "未按时", "按时发放率（%）"))
        for p in r.punctuality:
            append_row(sheet, (p.program.name, p.due, p.on_time, p.late, _percent(p.share)))
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name
