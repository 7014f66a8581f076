"""The county overview as an .xlsx: one sheet per table of the page (Chinese titles: it is
filed with the county's paperwork)."""

from __future__ import annotations

import tempfile

from openpyxl import Workbook

from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.spreadsheets import append_row
from eldercare.ratings.distribution import LEVELS


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def value_of(indicator):
    """An indicator's value as filed: percent for shares, yuan for money."""
    if indicator.value is None:
        return None
    if indicator.unit == "share":
        return _percent(indicator.value)
    if indicator.unit == "fen":
        return round(indicator.value / 100, 2)
    return round(indicator.value, 1)


def overview_workbook(ov) -> str:
    """Write the workbook to a temporary file and return its path (the caller deletes it)."""
    wb = Workbook(write_only=True)
    months = [p.month.strftime("%Y-%m") for p in ov.indicator("nursing_share").trend]
    with speaking(DEFAULT_LOCALE):
        sheet = wb.create_sheet("指标")
        append_row(sheet, [f"{ov.region.name} 养老服务综合指标 {ov.month.strftime('%Y-%m')}"])
        append_row(
            sheet, ["统计日", ov.day, "计算时间", ov.computed_at.strftime("%Y-%m-%d %H:%M UTC")]
        )
        append_row(sheet, ["指标", "数值", "目标", "是否达标", "说明", *months])
        for ind in ov.indicators:
            target = None if ind.target is None else value_of(_with(ind, ind.target))
            met = {True: "达标", False: "未达标", None: ""}[ind.meets_target]
            trend = {p.month.strftime("%Y-%m"): value_of(_with(ind, p.value)) for p in ind.trend}
            append_row(
                sheet,
                [str(ind.label), value_of(ind), target, met, str(ind.detail)]
                + [trend.get(m) for m in months],
            )
        append_row(sheet, [])
        append_row(sheet, ["比例单位为%，金额单位为元。"])

        sheet = wb.create_sheet("分区")
        append_row(
            sheet,
            [
                "区域",
                "床位",
                "护理型床位占比%",
                "每千名老人床位",
                "入住率%",
                "探访对象",
                "月探访率%",
                "逾期未探访",
                "机构数",
                "已评星级",
                *[f"{level}星" for level in LEVELS if level],
                "日间照料中心",
                "正常运营",
                "补贴金额(元)",
            ],
        )
        for a in ov.areas:
            append_row(
                sheet,
                [
                    a.name,
                    a.beds,
                    _percent(a.nursing_share),
                    None if a.beds_per_1000 is None else round(a.beds_per_1000, 1),
                    _percent(a.occupancy),
                    a.visit_targets,
                    _percent(a.visit_rate),
                    a.overdue,
                    a.facilities,
                    a.rated,
                    *[a.stars.get(level, 0) for level in LEVELS if level],
                    a.centers,
                    a.operating,
                    round(a.subsidy_fen / 100, 2),
                ],
            )

        sheet = wb.create_sheet("机构")
        append_row(sheet, ["机构", "床位", "护理型床位占比%", "入住率%", "星级", "日间照料运营"])
        for f in ov.facilities:
            operating = {True: "正常运营", False: "未运营", None: ""}[f.daycare_operating]
            append_row(
                sheet,
                [
                    f.name,
                    f.beds,
                    _percent(f.nursing_share),
                    _percent(f.occupancy),
                    f.star_level or "未评级",
                    operating,
                ],
            )

        sheet = wb.create_sheet("补贴")
        append_row(sheet, ["项目", "笔数", "金额(元)"])
        for p in ov.programs:
            append_row(sheet, [p.name, p.count, round(p.fen / 100, 2)])
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name


class _with:
    """An indicator seen with another value (a target or a trend point), same unit."""

    def __init__(self, indicator, value):
        self.unit, self.value = indicator.unit, value
