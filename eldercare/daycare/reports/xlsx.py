"""The .xlsx of a center's month and of an area's roll-up, each opening with the shared
export header (Chinese titles: they are filed with the county's paperwork)."""

from __future__ import annotations

import tempfile

from openpyxl import Workbook

from eldercare.beds.models import RISKS
from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.spreadsheets import ExportHeader, append_row, write_header
from eldercare.daycare.models import MEAL_LABELS, MealType
from eldercare.daycare.reports.monthly import MonthlyReport
from eldercare.daycare.reports.rollup import Rollup


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _one_decimal(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _save(wb: Workbook) -> str:
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name


def report_header(report: MonthlyReport, user) -> ExportHeader:
    """The header of the monthly report's file and print: which center, which month."""
    facility = report.facility
    return ExportHeader.of(
        f"{facility.name}运营月报（{report.month:%Y年%m月}）", facility.region.full_name, user
    )


def rollup_header(rollup: Rollup, user) -> ExportHeader:
    return ExportHeader.of(
        f"日间照料中心运营汇总（{rollup.month:%Y年%m月}）", rollup.region.full_name, user
    )


def report_xlsx(report: MonthlyReport, header: ExportHeader) -> str:
    """The monthly report as an .xlsx under its header: a summary sheet and a per-day sheet;
    returns its path (the caller deletes it)."""
    facility = report.facility
    wb = Workbook(write_only=True)
    with speaking(DEFAULT_LOCALE):
        summary = wb.create_sheet("运营月报")
        write_header(summary, header)
        append_row(summary, ("指标", "数值"))
        rows = [
            ("机构名称", facility.name),
            ("机构类型", facility.kind_label),
            ("所在地区", facility.region.full_name),
            ("月份", f"{report.month:%Y-%m}"),
            ("统计截至", report.period.last if report.period.days else None),
            ("服务容量（人）", report.settings.capacity),
            ("开放日数", report.open_days),
            ("休息日", "、".join(d.isoformat() for d in report.closed_days)),
            ("出勤人次", report.person_days),
            ("服务人数（出勤或用餐，去重）", report.people_served),
            ("日均出勤人数", _one_decimal(report.average_daily)),
            ("日均出勤占服务容量（%）", _percent(report.capacity_ratio)),
            ("月末会员数", report.members_at_end),
            ("本月新增会员", report.new_members),
            ("本月退出会员", report.leavers),
            ("非会员临时出勤人次", report.walk_ins),
            *((f"{MEAL_LABELS[MealType(t)]}份数", n) for t, n in report.meals_by_type.items()),
            ("用餐合计份数", report.meals),
            ("补贴餐份数", report.subsidised_meals),
            ("补贴餐金额（元）", report.subsidised_amount_fen / 100),
            ("活动场次", report.activities),
            ("活动参与人次", report.participant_times),
            ("安全事件数", report.incidents),
            *((f"安全事件：{RISKS[k]}", n) for k, n in report.incidents_by_risk.items()),
            ("未结案安全事件", report.open_incidents),
        ]
        for row in rows:
            append_row(summary, row)
        daily = wb.create_sheet("每日出勤与用餐")
        write_header(daily, header)
        append_row(daily, ("日期", "星期", "是否开放", "出勤人次", "用餐份数"))
        for d in report.days:
            append_row(
                daily, (d.day, d.weekday_label, "是" if d.open else "否", d.attendance, d.meals)
            )
        append_row(daily, ("合计", "", report.open_days, report.person_days, report.meals))
    return _save(wb)


ROLLUP_COLUMNS = (
    "机构名称",
    "机构类型",
    "所在地区",
    "服务容量（人）",
    "开放日数",
    "出勤人次",
    "服务人数",
    "日均出勤人数",
    "日均出勤占服务容量（%）",
    "用餐份数",
    "补贴餐份数",
    "活动场次",
    "最近出勤日期",
    "运营状态",
)


def rollup_xlsx(rollup: Rollup, header: ExportHeader) -> str:
    """The roll-up table as an .xlsx under its header, a row per center and the totals;
    returns its path."""
    wb = Workbook(write_only=True)
    with speaking(DEFAULT_LOCALE):
        sheet = wb.create_sheet("日间照料中心运营汇总")
        write_header(sheet, header)
        append_row(sheet, ROLLUP_COLUMNS)
        for r in rollup.centers:
            append_row(
                sheet,
                (
                    r.facility.name,
                    r.facility.kind_label,
                    r.facility.region.full_name,
                    r.capacity,
                    r.open_days,
                    r.person_days,
                    r.people_served,
                    _one_decimal(r.average_daily),
                    _percent(r.capacity_ratio),
                    r.meals,
                    r.subsidised_meals,
                    r.activities,
                    r.last_attendance,
                    "未运营" if r.not_operating else "运营中",
                ),
            )
        t = rollup.total
        append_row(
            sheet,
            (
                "合计",
                f"{t.centers}个中心",
                rollup.region.name,
                t.capacity,
                None,
                t.person_days,
                t.people_served,
                _one_decimal(t.average_daily),
                _percent(t.capacity_ratio),
                t.meals,
                t.subsidised_meals,
                t.activities,
                None,
                f"未运营{t.not_operating}个",
            ),
        )
        about = wb.create_sheet("说明")
        for row in (
            ("地区", rollup.region.name),
            ("月份", f"{rollup.month:%Y-%m}"),
            ("统计截至", rollup.period.last if rollup.period.days else None),
            ("未运营判定", f"截至{rollup.today.isoformat()}连续{rollup.idle_days}天无出勤记录"),
        ):
            append_row(about, row)
    return _save(wb)
