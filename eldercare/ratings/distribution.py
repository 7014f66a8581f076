"""Star distribution of an area (星级分布): how many of its active facilities hold each star
level on a day, by kind of facility and by township, against the county's previous rating
round, and the same table as an .xlsx. One query for both days, whatever the number of
facilities.

A round is published over some days (each facility's grade from the day it is published:
``Grade.valid_from``). The *current* round is the one chosen, or the latest whose
publishing had begun by the day shown; the *previous* round is the one last published before
the current one began to be. The change column compares the grades in force on the day
shown with those in force on the last day of the previous round's publishing. An area above
a county (a city: several counties, each with its own rounds) is compared with the same day
a year before instead.

The comparison is of the same facilities (those active now): how their grades changed, not
how many facilities there were then. Only facilities of a kind some shipped scheme can rate
are counted (``operations.rateable_kinds``): a kind nothing rates is not "not rated yet", and
would only lower the rated share."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import aliased

from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.spreadsheets import append_row
from eldercare.extensions import db
from eldercare.facilities.models import KIND_LABELS, Facility, FacilityKind
from eldercare.ratings.grades import in_force_on
from eldercare.ratings.models import Grade, Round
from eldercare.ratings.operations import rateable_kinds
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


@dataclass(frozen=True)
class RoundSpan:
    """A round of the county and the first and last day any grade of it was published
    (None: nothing published yet)."""

    id: int
    name: str
    year: int
    first: date | None
    last: date | None


class Basis:
    """What the change column compares with."""

    ROUND = "round"  # the county's previous round
    YEAR = "year"  # the same day a year before (an area of several counties)


@dataclass
class StarOverview:
    region: Region
    day: date
    #: The day compared with; None when there is nothing to compare with.
    before: date | None
    total: Row
    by_kind: list[Row] = field(default_factory=list)
    by_township: list[Row] = field(default_factory=list)
    basis: str | None = None
    #: The county's rounds (newest first), the current one and the one compared with.
    rounds: list[RoundSpan] = field(default_factory=list)
    current: RoundSpan | None = None
    previous: RoundSpan | None = None
    #: The kinds of facility counted: those a shipped scheme can rate.
    kinds_counted: tuple[str, ...] = ()

    @property
    def kinds_counted_labels(self) -> list:
        return [KIND_LABELS[FacilityKind(k)] for k in self.kinds_counted]

    @property
    def compared(self) -> bool:
        return self.before is not None


def rounds_of(county: Region) -> list[RoundSpan]:
    """The county's rounds with their publishing days, newest first. One query."""
    rows = db.session.execute(
        sa.select(
            Round.id,
            Round.name,
            Round.year,
            sa.func.min(Grade.valid_from),
            sa.func.max(Grade.valid_from),
        )
        .outerjoin(Grade, Grade.round_id == Round.id)
        .where(Round.region_id == county.id)
        .group_by(Round.id, Round.name, Round.year)
        .order_by(Round.year.desc(), Round.id.desc())
    ).all()
    return [RoundSpan(*row) for row in rows]


def current_round(rounds: list[RoundSpan], day: date) -> RoundSpan | None:
    """The latest round whose publishing had begun by ``day``."""
    begun = [r for r in rounds if r.first is not None and r.first <= day]
    return max(begun, key=lambda r: (r.first, r.id), default=None)


def previous_round(rounds: list[RoundSpan], current: RoundSpan, day: date) -> RoundSpan | None:
    """The round last published before ``current`` began to be (before ``day`` is over, for
    a round with nothing published yet)."""
    start = current.first if current.first is not None else day + timedelta(days=1)
    earlier = [r for r in rounds if r.id != current.id and r.last is not None and r.last < start]
    return max(earlier, key=lambda r: (r.last, r.id), default=None)


def _counts(region: Region, day: date, before: date | None, scope) -> list[sa.Row]:
    """(kind, region code, level now, level on ``before``, facilities) for the area's
    active facilities (without ``before``: no level then)."""
    now_grade, then_grade = aliased(Grade), aliased(Grade)
    then = sa.false() if before is None else in_force_on(before, then_grade)
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
            sa.and_(then_grade.facility_id == Facility.id, then),
        )
        .where(
            scope,
            Facility.active.is_(True),
            Facility.kind.in_(rateable_kinds()),
            Region.code.startswith(region.prefix, autoescape=True),
        )
        .group_by(Facility.kind, Region.code, now_grade.level, then_grade.level)
    ).all()


def _township_code(code: str) -> str:
    """The township of a region code; a facility registered at county level (or above)
    counts under that area itself."""
    return code[:TOWNSHIP_DIGITS].ljust(12, "0")


def star_overview(region: Region, day: date, scope, chosen: Round | None = None) -> StarOverview:
    """The star distribution of ``region``'s active facilities on ``day`` and at the end of
    the county's previous round; with a ``chosen`` round of the county, on the last day of
    its publishing (``day`` if nothing of it is published yet) against the round before it.
    ``scope`` is the acting user's scope clause on Facility. Three queries."""
    county = region.county
    rounds: list[RoundSpan] = []
    current = previous = None
    if county is None:
        basis, before = Basis.YEAR, year_before(day)
    else:
        basis = Basis.ROUND
        rounds = rounds_of(county)
        if chosen is not None:
            current = next(r for r in rounds if r.id == chosen.id)
            day = current.last or day
        else:
            current = current_round(rounds, day)
        previous = previous_round(rounds, current, day) if current is not None else None
        before = previous.last if previous is not None else None
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
        basis,
        rounds,
        current,
        previous,
        rateable_kinds(),
    )


# --- .xlsx (Chinese titles: it is filed with the county's paperwork) -------------------------

LEVEL_TITLES = {1: "一星级", 2: "二星级", 3: "三星级", 4: "四星级", 5: "五星级", None: "未评级"}
CHANGE_SINCE = {Basis.ROUND: "较上一轮", Basis.YEAR: "较上年", None: "较上一轮"}


def _xlsx_columns(overview: StarOverview) -> tuple[str, ...]:
    since = CHANGE_SINCE[overview.basis]
    return (
        "分组",
        "名称",
        *(LEVEL_TITLES[level] for level in LEVELS),
        "合计",
        "已评级占比（%）",
        *(f"{LEVEL_TITLES[level]}{since}" for level in LEVELS),
    )


def _xlsx_row(group: str, row: Row, compared: bool) -> list:
    share = row.now.rated_share
    return [
        group,
        str(row.label),
        *(row.now.by_level[level] for level in LEVELS),
        row.now.total,
        None if share is None else round(share * 100, 1),
        *(row.change(level) if compared else None for level in LEVELS),
    ]


def _basis_line(overview: StarOverview) -> tuple[str, object]:
    if overview.basis == Basis.YEAR:
        return ("对比日期（上年同日）", overview.before)
    if overview.previous is None:
        return ("对比基准", "无（此前没有已公布的评定轮次）")
    return (
        "对比基准（上一轮评定）",
        f"{overview.previous.name}（{overview.previous.last.isoformat()}公布）",
    )


def overview_xlsx(overview: StarOverview) -> str:
    """The overview's table as an .xlsx (by kind, by township, the total, and a sheet saying
    which days are compared); returns its path (the caller deletes it)."""
    wb = Workbook(write_only=True)
    with speaking(DEFAULT_LOCALE):  # the kind labels
        sheet = wb.create_sheet("星级分布")
        append_row(sheet, _xlsx_columns(overview))
        compared = overview.compared
        for row in overview.by_kind:
            append_row(sheet, _xlsx_row("机构类型", row, compared))
        for row in overview.by_township:
            append_row(sheet, _xlsx_row("乡镇（街道）", row, compared))
        append_row(sheet, _xlsx_row("合计", overview.total, compared))
        about = wb.create_sheet("说明")
        lines = [("地区", overview.region.name), ("统计日期", overview.day)]
        if overview.current is not None:
            lines.append(("当前评定轮次", overview.current.name))
        for line in (
            *lines,
            _basis_line(overview),
            (
                "统计范围",
                "地区内现有在营、且有评定标准可评的机构（"
                + "、".join(str(label) for label in overview.kinds_counted_labels)
                + "）；等级为当日有效的已公布等级",
            ),
        ):
            append_row(about, line)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name
