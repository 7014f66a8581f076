"""Star distribution of an area (星级分布): how many of its active facilities hold each star
level on a day, by kind of facility and by township, against the same day a year before,
and the same table as an .xlsx. One query for both days, whatever the number of facilities.

The comparison is of the same facilities (those active now): how their grades changed over
the year, not how many facilities there were a year ago."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import aliased

from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.spreadsheets import append_row
from eldercare.extensions import db
from eldercare.facilities.models import KIND_LABELS, Facility, FacilityKind
from eldercare.ratings.grades import in_force_on
from eldercare.ratings.models import Grade
from eldercare.regions.models import PREFIX_LENGTH, Level, Region

#: The columns of the distribution: one to five stars, then not rated (None).
LEVELS: tuple[int | None, ...] = (1, 2, 3, 4, 5, None)
TOWNSHIP_DIGITS = PREFIX_LENGTH[Level.TOWNSHIP]


def year_before(day: date) -> date:
    """The same calendar day a year earlier (29 February: the 28th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass
class Counts:
    """Facilities by star level (None: not rated)."""

    by_level: dict[int | None, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))

    def add(self, level: int | None, n: int) -> None:
        self.by_level[level] += n

    @property
    def total(self) -> int:
        return sum(self.by_level.values())

    @property
    def rated(self) -> int:
        return self.total - self.by_level[None]

    @property
    def rated_share(self) -> float | None:
        return self.rated / self.total if self.total else None


@dataclass
class Row:
    """One line of the table: a kind of facility, a township, or the whole area."""

    key: str
    label: object  # text, or a lazy label translated where it is shown
    now: Counts = field(default_factory=Counts)
    before: Counts = field(default_factory=Counts)

    def change(self, level: int | None) -> int:
        return self.now.by_level[level] - self.before.by_level[level]

    @property
    def rated_change(self) -> int:
        return self.now.rated - self.before.rated


@dataclass
class StarOverview:
    region: Region
    day: date
    before: date
    total: Row
    by_kind: list[Row] = field(default_factory=list)
    by_township: list[Row] = field(default_factory=list)


def _counts(region: Region, day: date, before: date, scope) -> list[sa.Row]:
    """(kind, region code, level now, level a year before, facilities) for the area's
    active facilities."""
    now_grade, then_grade = aliased(Grade), aliased(Grade)
    return db.session.execute(
        sa.select(
            Facility.kind,
            Region.code,
            now_grade.level,
            then_grade.level,
            sa.func.count(Facility.id),
        )
        .join(Region, Region.id == Facility.region_id)
        .outerjoin(
            now_grade,
            sa.and_(now_grade.facility_id == Facility.id, in_force_on(day, now_grade)),
        )
        .outerjoin(
            then_grade,
            sa.and_(then_grade.facility_id == Facility.id, in_force_on(before, then_grade)),
        )
        .where(
            scope,
            Facility.active.is_(True),
            Region.code.startswith(region.prefix, autoescape=True),
        )
        .group_by(Facility.kind, Region.code, now_grade.level, then_grade.level)
    ).all()


def _township_code(code: str) -> str:
    """The township of a region code; a facility registered at county level (or above)
    counts under that area itself."""
    return code[:TOWNSHIP_DIGITS].ljust(12, "0")


def star_overview(region: Region, day: date, scope) -> StarOverview:
    """The star distribution of ``region``'s active facilities on ``day`` and a year before;
    ``scope`` is the acting user's scope clause on Facility. Two queries."""
    before = year_before(day)
    total = Row(region.code, region.name)
    kinds: dict[str, Row] = {}
    townships: dict[str, Row] = {}
    for kind, code, level_now, level_then, n in _counts(region, day, before, scope):
        town = _township_code(code)
        for row in (
            total,
            kinds.setdefault(kind, Row(kind, KIND_LABELS[FacilityKind(kind)])),
            townships.setdefault(town, Row(town, "")),
        ):
            row.now.add(level_now, n)
            row.before.add(level_then, n)
    if townships:
        names = dict(
            db.session.execute(
                sa.select(Region.code, Region.name).where(Region.code.in_(townships))
            ).all()
        )
        for code, row in townships.items():
            row.label = names.get(code, code)
    order = [k.value for k in FacilityKind]
    return StarOverview(
        region,
        day,
        before,
        total,
        sorted(kinds.values(), key=lambda r: order.index(r.key)),
        sorted(townships.values(), key=lambda r: r.key),
    )


# --- .xlsx (Chinese titles: it is filed with the county's paperwork) -------------------------

LEVEL_TITLES = {1: "一星级", 2: "二星级", 3: "三星级", 4: "四星级", 5: "五星级", None: "未评级"}
XLSX_COLUMNS = (
    "分组",
    "名称",
    *(LEVEL_TITLES[level] for level in LEVELS),
    "合计",
    "已评级占比（%）",
    *(f"{LEVEL_TITLES[level]}较上年" for level in LEVELS),
)


def _xlsx_row(group: str, row: Row) -> list:
    share = row.now.rated_share
    return [
        group,
        str(row.label),
        *(row.now.by_level[level] for level in LEVELS),
        row.now.total,
        None if share is None else round(share * 100, 1),
        *(row.change(level) for level in LEVELS),
    ]


def overview_xlsx(overview: StarOverview) -> str:
    """The overview's table as an .xlsx (by kind, by township, the total, and a sheet saying
    which days are compared); returns its path (the caller deletes it)."""
    wb = Workbook(write_only=True)
    with speaking(DEFAULT_LOCALE):  # the kind labels
        sheet = wb.create_sheet("星级分布")
        append_row(sheet, XLSX_COLUMNS)
        for row in overview.by_kind:
            append_row(sheet, _xlsx_row("机构类型", row))
        for row in overview.by_township:
            append_row(sheet, _xlsx_row("乡镇（街道）", row))
        append_row(sheet, _xlsx_row("合计", overview.total))
        about = wb.create_sheet("说明")
        for line in (
            ("地区", overview.region.name),
            ("统计日期", overview.day),
            ("对比日期（上年同日）", overview.before),
            ("统计范围", "地区内现有在营机构；等级为当日有效的已公布等级"),
        ):
            append_row(about, line)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name
