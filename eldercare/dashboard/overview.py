"""The county overview (综合看板): the indicators a civil-affairs bureau reports on, for an
area and a month, each against its target, with a 12-month trend and a drill-down to the
areas one level below and to facilities.

Every figure comes from the one place that defines it; this module only gathers them:

=============================  ================================================  ==========
indicator                      defined in                                         target
=============================  ================================================  ==========
nursing-type bed share         ``dashboard.indicators.bed_indicators``            55%
beds per 1,000 elderly         ``dashboard.indicators.bed_indicators``            none
bed occupancy                  ``dashboard.indicators.bed_indicators``            none
monthly visit rate, overdue    ``visits.coverage.coverage``                       100%, 0
star distribution              ``ratings.distribution.star_overview``             none
subsidies paid on time         ``subsidies.reports.punctuality``                  100%
subsidy amounts by program     ``subsidies.reports.amounts_series``               none
day-care centers operating     ``daycare.reports.county_rollup``                  100%
=============================  ================================================  ==========

The month's figures are taken on its last day (today, for the current month). They are
computed from the live records; ``dashboard.snapshots`` keeps the result for a while (the page
says when it was computed) so that a city's overview does not scan a million people each time
it is opened. ``to_payload``/``from_payload`` turn an overview into JSON and back for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core.db import utcnow
from eldercare.core.periods import month_bounds
from eldercare.core.permissions import scope_clause
from eldercare.dashboard.indicators import (
    NURSING_SHARE_TARGET,
    bed_indicators,
    elderly_by_area,
    trend_days,
)
from eldercare.daycare import reports as daycare
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import distribution
from eldercare.ratings.grades import grades_on
from eldercare.regions.models import Region
from eldercare.subsidies import reports as subsidies
from eldercare.subsidies.models import Program
from eldercare.visits import coverage as visits
from eldercare.visits.models import CareTarget

VISIT_TARGET = visits.TARGET_RATE
ON_TIME_TARGET = 1.0
OPERATING_TARGET = 1.0


@dataclass
class Point:
    month: date
    value: float | None


#: Each indicator's name, and the line under its value made from its ``params``.
LABELS = {
    "nursing_share": _l("Nursing-type bed share"),
    "beds_per_1000": _l("Beds per 1,000 elderly"),
    "occupancy": _l("Bed occupancy"),
    "visit_rate": _l("Monthly visit rate"),
    "overdue_visits": _l("Overdue visits"),
    "rated_share": _l("Facilities with a star rating"),
    "subsidies_on_time": _l("Subsidy batches paid on time"),
    "subsidy_amount": _l("Subsidies paid out this month"),
    "daycare_operating": _l("Day-care centers operating"),
}
DETAILS = {
    "nursing_share": lambda p: _l("%(n)s of %(total)s beds", **p),
    "beds_per_1000": lambda p: _l("%(n)s people aged 60 or more", **p),
    "occupancy": lambda p: _l("%(n)s of %(total)s beds in service", **p),
    # The county's choice of what the rate counts (visits.models.RateBasis).
    "visit_rate": lambda p: (
        _l("%(n)s of %(total)s people due a visit this month visited", n=p["n"], total=p["total"])
        if p.get("basis") == "due"
        else _l("%(n)s of %(total)s people visited", n=p["n"], total=p["total"])
    ),
    "overdue_visits": lambda p: _l("people whose visit is overdue today"),
    "rated_share": lambda p: _l("%(n)s of %(total)s facilities", **p),
    "subsidies_on_time": lambda p: _l("%(n)s of %(total)s batches due in 12 months", **p),
    "subsidy_amount": lambda p: _l("%(n)s programs", **p),
    "daycare_operating": lambda p: _l(
        "%(n)s of %(total)s centers had attendance in the last %(days)s days", **p
    ),
}


@dataclass
class Indicator:
    key: str
    value: float | None
    unit: str  # "share", "per_1000", "count", "fen"
    target: float | None = None
    #: The numbers the line under the value is made of (see ``DETAILS``).
    params: dict = field(default_factory=dict)
    trend: list[Point] = field(default_factory=list)
    #: For a count where fewer is better (overdue visits): the target is a ceiling.
    lower_is_better: bool = False

    @property
    def label(self):
        return LABELS[self.key]

    @property
    def detail(self):
        return DETAILS[self.key](self.params)

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value <= self.target if self.lower_is_better else self.value >= self.target


@dataclass
class AreaRow:
    """One area one level below (a township of a county), for the drill-down table."""

    region_id: int
    code: str
    name: str
    beds: int = 0
    nursing_share: float | None = None
    beds_per_1000: float | None = None
    occupancy: float | None = None
    visit_targets: int = 0
    visit_rate: float | None = None
    overdue: int = 0
    facilities: int = 0
    rated: int = 0
    stars: dict = field(default_factory=dict)
    centers: int = 0
    operating: int = 0
    subsidy_fen: int = 0


@dataclass
class FacilityRow:
    facility_id: int
    name: str
    beds: int = 0
    nursing_share: float | None = None
    occupancy: float | None = None
    star_level: int | None = None
    daycare_operating: bool | None = None


@dataclass
class StarChart:
    """Facilities by star level (None: not rated) now, and on the day compared with."""

    now: dict[int | None, int]
    before: dict[int | None, int] | None = None  # None: nothing to compare with

    @property
    def compared(self) -> bool:
        return self.before is not None


@dataclass
class Overview:
    region: Region
    month: date
    day: date
    computed_at: datetime
    indicators: list[Indicator]
    areas: list[AreaRow]
    facilities: list[FacilityRow]
    stars: StarChart
    programs: list[ProgramAmount]

    def indicator(self, key: str) -> Indicator:
        return next(i for i in self.indicators if i.key == key)


def month_days(month: date, today: date) -> list[tuple[date, date]]:
    """(month, the day its figures are taken) for the 12 months ending with ``month``."""
    last = min(_month_end(month), today)
    return [(d.replace(day=1), d) for d in trend_days(last)]


def _month_end(month: date) -> date:
    return month_bounds(month)[1] - timedelta(days=1)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def county_overview(
    region: Region,
    month: date,
    today: date,
    *,
    idle_days: int,
    user=None,
    programs: list[Program] | None = None,
) -> Overview:
    """Every indicator of ``region`` for ``month``, as ``user`` may see them.

    Without a user (the snapshot job, or a page that has checked the region is inside the
    user's area) every record of the region counts, and the subsidy figures are those of
    ``programs`` (default: every program that pays in the region)."""
    if user is None:
        facility_scope = target_scope = sa.true()
    else:
        facility_scope = scope_clause(Facility, user)
        target_scope = scope_clause(CareTarget, user)
    if programs is None:
        programs = (
            subsidies.related_programs(region)
            if user is None
            else subsidies.programs_for(region, user)
        )
    days = month_days(month, today)
    day = days[-1][1]

    elderly = elderly_by_area(region, [d for _m, d in days])
    # The trend is taken month by month below, with the elderly counts of all months at once.
    beds = bed_indicators(region, day, with_trend=False, elderly_by_prefix=elderly[day])
    bed_trend = [
        (m, bed_indicators(region, d, with_trend=False, elderly_by_prefix=elderly[d]).total)
        for m, d in days[:-1]
    ]
    bed_trend.append((days[-1][0], beds.total))

    cover = visits.coverage(region, month, target_scope)

    stars = distribution.star_overview(region, day, facility_scope)
    star_trend = [
        Point(m, distribution.star_overview(region, d, facility_scope).total.now.rated_share)
        for m, d in days[:-1]
    ] + [Point(days[-1][0], stars.total.now.rated_share)]

    rollup = daycare.county_rollup(region, month, idle_days, day)
    operating_trend = []
    for m, d in days[:-1]:
        past = daycare.county_rollup(region, m, idle_days, d).total
        operating_trend.append(Point(m, _share(past.centers - past.not_operating, past.centers)))
    centers = rollup.total
    operating_trend.append(
        Point(days[-1][0], _share(centers.centers - centers.not_operating, centers.centers))
    )

    months = [m for m, _ in days]
    money = _subsidies(region, months, today, programs)

    total = beds.total
    operating = centers.centers - centers.not_operating
    indicators = [
        Indicator(
            "nursing_share",
            total.nursing_share,
            "share",
            float(NURSING_SHARE_TARGET),
            {"n": total.nursing, "total": total.beds},
            [Point(m, f.nursing_share) for m, f in bed_trend],
        ),
        Indicator(
            "beds_per_1000",
            total.beds_per_1000_elderly,
            "per_1000",
            None,
            {"n": total.elderly or 0},
            [Point(m, f.beds_per_1000_elderly) for m, f in bed_trend],
        ),
        Indicator(
            "occupancy",
            total.occupancy_rate,
            "share",
            None,
            {"n": total.occupied, "total": total.in_service},
            [Point(m, f.occupancy_rate) for m, f in bed_trend],
        ),
        Indicator(
            "visit_rate",
            cover.total.rate,
            "share",
            VISIT_TARGET,
            {"n": cover.total.visited, "total": cover.total.targets, "basis": cover.basis},
            [Point(m, rate) for m, rate in cover.trend],
        ),
        Indicator(
            "overdue_visits",
            float(cover.total.overdue),
            "count",
            0.0,
            {},
            [],
            lower_is_better=True,
        ),
        Indicator(
            "rated_share",
            stars.total.now.rated_share,
            "share",
            None,
            {"n": stars.total.now.rated, "total": stars.total.now.total},
            star_trend,
        ),
        Indicator(
            "subsidies_on_time",
            _share(money.on_time, money.due),
            "share",
            ON_TIME_TARGET,
            {"n": money.on_time, "total": money.due},
            money.on_time_trend,
        ),
        Indicator(
            "subsidy_amount",
            float(sum(p.fen for p in money.programs)),
            "fen",
            None,
            {"n": len(money.programs)},
            money.amount_trend,
        ),
        Indicator(
            "daycare_operating",
            _share(operating, centers.centers),
            "share",
            OPERATING_TARGET,
            {"n": operating, "total": centers.centers, "days": idle_days},
            operating_trend,
        ),
    ]
    areas = _areas(region, beds, cover, stars, rollup, money.by_area)
    facilities = _facilities(beds, rollup, day)
    chart = StarChart(
        dict(stars.total.now.by_level),
        dict(stars.total.before.by_level) if stars.compared else None,
    )
    return Overview(
        region, month, day, utcnow(), indicators, areas, facilities, chart, money.programs
    )


@dataclass
class ProgramAmount:
    name: str
    fen: int
    count: int


@dataclass
class SubsidyFigures:
    programs: list[ProgramAmount]
    due: int
    on_time: int
    on_time_trend: list[Point]
    amount_trend: list[Point]
    by_area: dict[str, int]


def _subsidies(
    region: Region, months: list[date], today: date, programs: list[Program]
) -> SubsidyFigures:
    """The subsidy indicators, by the definitions of ``subsidies.reports``: amounts paid out
    by the batch of each month's period, and batches sent to the bank by their due date."""
    series = subsidies.amounts_series(programs, months, region)
    punctual = subsidies.punctuality(programs, months, today)
    trend = []
    for month in months:
        found = subsidies.punctuality(programs, [month], today)
        due, on_time = sum(p.due for p in found), sum(p.on_time for p in found)
        trend.append(Point(month, _share(on_time, due)))
    return SubsidyFigures(
        programs=[
            ProgramAmount(s.program.name, s.amounts_fen[-1], s.counts[-1])
            for s in series
            if s.amounts_fen[-1]
        ],
        due=sum(p.due for p in punctual),
        on_time=sum(p.on_time for p in punctual),
        on_time_trend=trend,
        amount_trend=[
            Point(m, float(sum(s.amounts_fen[i] for s in series))) for i, m in enumerate(months)
        ],
        by_area=subsidies.amounts_by_area([p.id for p in programs], months[-1], region),
    )


def _areas(region, beds, cover, stars, rollup, subsidy_by_code) -> list[AreaRow]:
    rows: dict[int, AreaRow] = {}
    children = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Region).where(Region.id.in_([a.id for a in beds.by_subregion]))
        )
    }
    for area in beds.by_subregion:
        child = children[area.id]
        f = area.figures
        rows[area.id] = AreaRow(
            area.id,
            child.code,
            area.name,
            beds=f.beds,
            nursing_share=f.nursing_share,
            beds_per_1000=f.beds_per_1000_elderly,
            occupancy=f.occupancy_rate,
        )
    by_prefix = {children[row.region_id].prefix: row for row in rows.values()}

    def row_for(code: str) -> AreaRow | None:
        for prefix, row in by_prefix.items():
            if code.startswith(prefix):
                return row
        return None

    for rate in cover.by_subregion:
        row = rows.get(rate.region.id)
        if row is not None:
            row.visit_targets, row.visit_rate, row.overdue = rate.targets, rate.rate, rate.overdue
    for town in stars.by_township:
        row = row_for(town.key)
        if row is not None:
            row.facilities += town.now.total
            row.rated += town.now.rated
            for level, n in town.now.by_level.items():
                if level is not None:
                    row.stars[level] = row.stars.get(level, 0) + n
    for center in rollup.centers:
        row = row_for(center.facility.region.code)
        if row is not None:
            row.centers += 1
            row.operating += 0 if center.not_operating else 1
    for code, fen in subsidy_by_code.items():
        row = row_for(code)
        if row is not None:
            row.subsidy_fen += fen
    return sorted(rows.values(), key=lambda r: r.code)


def _facilities(beds, rollup, day) -> list[FacilityRow]:
    levels = {
        fid: grade.level for fid, grade in grades_on([a.id for a in beds.by_facility], day).items()
    }
    operating = {c.facility.id: not c.not_operating for c in rollup.centers}
    rows = [
        FacilityRow(
            a.id,
            a.name,
            beds=a.figures.beds,
            nursing_share=a.figures.nursing_share,
            occupancy=a.figures.occupancy_rate,
            star_level=levels.get(a.id),
            daycare_operating=operating.get(a.id),
        )
        for a in beds.by_facility
    ]
    return rows
