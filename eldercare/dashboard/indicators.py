"""County bed indicators, computed in one place for a region (city, county or township) and
a day: beds by care type, nursing-type share against its target, beds per 1,000 elderly,
occupancy, broken down by sub-region and by facility, and a 12-month occupancy trend.

Definitions (each figure is a handful of set-based queries, never one per facility):

- *Beds on a day*: beds of the region's active facilities that existed that day: created on
  or before it, or holding a stay that began on or before it (histories entered afterwards
  keep their beds). Facilities switched off are left out: no closing date is recorded.
- *Nursing-type share*: nursing beds / all beds, against ``NURSING_SHARE_TARGET``.
- *Elderly*: people of the region's registry aged 60 or more on the day (from their birth
  date) and not dead by then. The registry has no move-in dates, so a person counts where
  they are registered now.
- *Occupancy rate*: stays covering the day / beds in service that day. A held bed (resident
  on leave) is occupied, since its stay goes on; a bed out of service that day (an outage
  covering it) is left out of the denominator, as it could not take anyone.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from eldercare.beds.models import Bed, CareType, Stay
from eldercare.beds.operations import bed_existed_on, bed_out_of_service_on, stay_on
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import LEVEL_ORDER, PREFIX_LENGTH, Level, Region

#: 十四五 target: at least 55% of beds are nursing-type (护理型) by 2025. One target for every
#: county until there is a settings table; then it becomes a per-county setting.
NURSING_SHARE_TARGET = Decimal("0.55")
ELDERLY_AGE = 60
TREND_MONTHS = 12


@dataclass
class Figures:
    """The indicators of one area (the region itself, a sub-region or a facility)."""

    beds: int = 0
    by_care_type: dict[str, int] = field(default_factory=dict)
    in_service: int = 0
    occupied: int = 0
    elderly: int | None = None  # None for a facility (no registry of its own)

    @property
    def nursing(self) -> int:
        return self.by_care_type.get(CareType.NURSING.value, 0)

    @property
    def nursing_share(self) -> float | None:
        return self.nursing / self.beds if self.beds else None

    @property
    def meets_nursing_target(self) -> bool | None:
        share = self.nursing_share
        return None if share is None else share >= float(NURSING_SHARE_TARGET)

    @property
    def beds_per_1000_elderly(self) -> float | None:
        return self.beds * 1000 / self.elderly if self.elderly else None

    @property
    def occupancy_rate(self) -> float | None:
        return self.occupied / self.in_service if self.in_service else None

    def add(self, other: Figures) -> None:
        self.beds += other.beds
        self.in_service += other.in_service
        self.occupied += other.occupied
        for care_type, n in other.by_care_type.items():
            self.by_care_type[care_type] = self.by_care_type.get(care_type, 0) + n


@dataclass
class Area:
    """A sub-region or a facility with its figures."""

    id: int
    name: str
    figures: Figures


@dataclass
class TrendPoint:
    day: date
    beds: int
    occupied: int

    @property
    def rate(self) -> float | None:
        return self.occupied / self.beds if self.beds else None


@dataclass
class Indicators:
    region: Region
    day: date
    total: Figures
    by_subregion: list[Area]
    by_facility: list[Area]
    trend: list[TrendPoint]
    nursing_target: Decimal = NURSING_SHARE_TARGET


def sixty_on(day: date) -> date:
    """The latest birth date of someone aged ``ELDERLY_AGE`` or more on ``day``."""
    try:
        return day.replace(year=day.year - ELDERLY_AGE)
    except ValueError:  # 29 February in a year whose 60th predecessor is not a leap year
        return day.replace(year=day.year - ELDERLY_AGE, day=28)


def trend_days(day: date, months: int = TREND_MONTHS) -> list[date]:
    """The last day of each of the ``months - 1`` months before ``day``'s, then ``day``."""
    days = [day]
    year, month = day.year, day.month
    for _ in range(months - 1):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        days.append(date(year, month, calendar.monthrange(year, month)[1]))
    return sorted(days)


def _facility_ids(region: Region) -> sa.Select:
    return sa.select(Facility.id).where(
        Facility.active.is_(True), Facility.region_id.in_(Region.subtree_ids(region))
    )


def _child_level(region: Region) -> Level:
    index = LEVEL_ORDER.index(Level(region.level))
    return LEVEL_ORDER[min(index + 1, len(LEVEL_ORDER) - 1)]


def _child_code(code: str, level: Level) -> str:
    keep = PREFIX_LENGTH[level]
    return code[:keep].ljust(12, "0")


def bed_indicators(
    region: Region,
    day: date,
    with_trend: bool = True,
    elderly_by_prefix: dict[str, int] | None = None,
) -> Indicators:
    """Every bed indicator of ``region`` on ``day`` (see the module docstring); without the
    occupancy trend when the caller takes the figures of each month itself, and with the
    elderly counts when the caller took those of several days at once (``elderly_by_area``)."""
    facility_ids = _facility_ids(region)
    facilities = db.session.execute(
        sa.select(Facility.id, Facility.name, Region.code)
        .join(Region, Region.id == Facility.region_id)
        .where(Facility.id.in_(facility_ids))
        .order_by(Region.code, Facility.name)
    ).all()

    per_facility: dict[int, Figures] = {f.id: Figures() for f in facilities}
    in_service = sa.case((bed_out_of_service_on(day), 0), else_=1)
    for facility_id, care_type, beds, serving in db.session.execute(
        sa.select(Bed.facility_id, Bed.care_type, sa.func.count(Bed.id), sa.func.sum(in_service))
        .where(Bed.facility_id.in_(facility_ids), bed_existed_on(day))
        .group_by(Bed.facility_id, Bed.care_type)
    ):
        figures = per_facility[facility_id]
        figures.by_care_type[care_type] = int(beds)
        figures.beds += int(beds)
        figures.in_service += int(serving or 0)
    for facility_id, occupied in db.session.execute(
        sa.select(Stay.facility_id, sa.func.count(Stay.id))
        .where(Stay.facility_id.in_(facility_ids), stay_on(day))
        .group_by(Stay.facility_id)
    ):
        per_facility[facility_id].occupied = int(occupied)

    # Sub-regions one level down (townships of a county, counties of a city).
    level = _child_level(region)
    width = PREFIX_LENGTH[level]
    children = {
        r.code: r
        for r in db.session.scalars(
            sa.select(Region).where(
                Region.level == level.value, Region.code.startswith(region.prefix, autoescape=True)
            )
        )
    }
    if elderly_by_prefix is None:
        elderly_by_prefix = elderly_by_area(region, [day])[day]
    subregions: dict[str, Area] = {}
    for code, child in children.items():
        subregions[code] = Area(
            child.id, child.name, Figures(elderly=int(elderly_by_prefix.get(code[:width], 0)))
        )
    by_facility = []
    for facility_id, name, code in facilities:
        figures = per_facility[facility_id]
        by_facility.append(Area(facility_id, name, figures))
        # A facility placed on the region itself (no township) shows in the total only.
        area = subregions.get(_child_code(code, level))
        if area is not None:
            area.figures.add(figures)

    total = Figures(elderly=sum(int(n) for n in elderly_by_prefix.values()))
    for figures in per_facility.values():
        total.add(figures)
    return Indicators(
        region=region,
        day=day,
        total=total,
        by_subregion=list(subregions.values()),
        by_facility=by_facility,
        trend=occupancy_trend(region, day) if with_trend else [],
    )


def elderly_by_area(region: Region, days: list[date]) -> dict[date, dict[str, int]]:
    """People aged 60 and over alive on each of ``days``, by the code prefix of the areas one
    level below ``region``: one scan of the registry for all the days (a city's million
    people read once, not once a month)."""
    width = PREFIX_LENGTH[_child_level(region)]
    prefix = sa.func.substr(Region.code, 1, width)
    alive_and_sixty = [
        sa.func.count(Person.id).filter(
            Person.birth_date <= sixty_on(d),
            sa.or_(Person.death_date.is_(None), Person.death_date > d),
        )
        for d in days
    ]
    rows = db.session.execute(
        sa.select(prefix, *alive_and_sixty)
        .join(Region, Region.id == Person.region_id)
        .where(
            Region.code.startswith(region.prefix, autoescape=True),
            Person.birth_date <= sixty_on(max(days)),
        )
        .group_by(prefix)
    ).all()
    out: dict[date, dict[str, int]] = {d: {} for d in days}
    for code, *counts in rows:
        for d, n in zip(days, counts, strict=True):
            out[d][code] = int(n)
    return out


def occupancy_trend(region: Region, day: date, months: int = TREND_MONTHS) -> list[TrendPoint]:
    """Occupancy at each month's end from the stay history: two GROUP BY queries over a
    small table of the days, not one query per day or per facility."""
    days = trend_days(day, months)
    table = sa.union_all(*[sa.select(sa.literal(d, sa.Date).label("day")) for d in days]).cte(
        "trend_day"
    )
    facility_ids = _facility_ids(region)
    beds = dict(
        db.session.execute(
            sa.select(table.c.day, sa.func.count(Bed.id))
            .select_from(table)
            .join(
                Bed,
                sa.and_(
                    Bed.facility_id.in_(facility_ids),
                    bed_existed_on(table.c.day),
                    sa.not_(bed_out_of_service_on(table.c.day)),
                ),
            )
            .group_by(table.c.day)
        )
        .tuples()
        .all()
    )
    occupied = dict(
        db.session.execute(
            sa.select(table.c.day, sa.func.count(Stay.id))
            .select_from(table)
            .join(Stay, sa.and_(Stay.facility_id.in_(facility_ids), stay_on(table.c.day)))
            .group_by(table.c.day)
        )
        .tuples()
        .all()
    )
    # SQLite hands the day back as text.
    beds = {_as_date(k): v for k, v in beds.items()}
    occupied = {_as_date(k): v for k, v in occupied.items()}
    return [TrendPoint(d, int(beds.get(d, 0)), int(occupied.get(d, 0))) for d in days]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
