"""Every center of an area in a month: one row per center and the area's totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from eldercare.daycare.models import DAYCARE_KINDS, Activity, Attendance, Center, ClosedDay, Meal
from eldercare.daycare.reports.common import (
    CenterSettings,
    Period,
    open_days_in,
    ratio,
    served_pairs,
)
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.models import Region


@dataclass
class CenterRow:
    facility: Facility
    settings: CenterSettings
    open_days: int
    person_days: int = 0
    people_served: int = 0
    meals: int = 0
    subsidised_meals: int = 0
    activities: int = 0
    last_attendance: date | None = None
    not_operating: bool = True

    @property
    def capacity(self) -> int:
        return self.settings.capacity

    @property
    def average_daily(self) -> float | None:
        return ratio(self.person_days, self.open_days)

    @property
    def capacity_ratio(self) -> float | None:
        return ratio(self.average_daily, self.capacity)


@dataclass
class Totals:
    """The centers' figures added up. People served are distinct across centers (someone
    who went to two centers is one person); the average daily attendance is the sum of the
    centers' averages (people present on an average open day) and its capacity that of the
    centers that had open days."""

    centers: int = 0
    not_operating: int = 0
    capacity: int = 0
    person_days: int = 0
    people_served: int = 0
    average_daily: float | None = None
    meals: int = 0
    subsidised_meals: int = 0
    activities: int = 0

    @property
    def capacity_ratio(self) -> float | None:
        return ratio(self.average_daily, self.capacity)


@dataclass
class Rollup:
    region: Region
    period: Period
    idle_days: int
    today: date
    centers: list[CenterRow] = field(default_factory=list)
    total: Totals = field(default_factory=Totals)

    @property
    def month(self) -> date:
        return self.period.month


def centers_under(region: Region) -> sa.Select:
    """SELECT of the ids of the active day-care facilities in ``region``'s subtree."""
    return (
        sa.select(Facility.id)
        .join(Region, Region.id == Facility.region_id)
        .where(
            Facility.kind.in_(DAYCARE_KINDS),
            Facility.active.is_(True),
            Region.code.startswith(region.prefix, autoescape=True),
        )
    )


def county_rollup(region: Region, month: date, idle_days: int, today: date) -> Rollup:
    """Every active day-care facility under ``region`` with its month's figures, whether it
    is operating, and the totals: seven queries whatever the number of centers."""
    period = Period.of(month, today)
    ids = centers_under(region)
    found = db.session.execute(
        sa.select(Facility, Center)
        .join(Facility.region)
        .outerjoin(Center, Center.facility_id == Facility.id)
        .where(Facility.id.in_(ids))
        .options(contains_eager(Facility.region))
        .order_by(Region.code, Facility.name, Facility.id)
    ).all()
    closed: dict[int, set[date]] = {}
    for fid, day in db.session.execute(
        sa.select(ClosedDay.facility_id, ClosedDay.day).where(
            ClosedDay.facility_id.in_(ids), ClosedDay.day.between(period.first, period.last)
        )
    ):
        closed.setdefault(fid, set()).add(day)
    rows: dict[int, CenterRow] = {}
    for facility, center in found:
        settings = CenterSettings.of(center)
        rows[facility.id] = CenterRow(
            facility, settings, open_days_in(settings, period, closed.get(facility.id, set()))
        )

    # The month's person-days, and the last day with attendance up to today (any month).
    for fid, n, last in db.session.execute(
        sa.select(
            Attendance.facility_id,
            sa.func.count(Attendance.id).filter(Attendance.day.between(period.first, period.last)),
            sa.func.max(Attendance.day),
        )
        .where(Attendance.facility_id.in_(ids), Attendance.day <= today)
        .group_by(Attendance.facility_id)
    ):
        rows[fid].person_days = n
        rows[fid].last_attendance = last

    for fid, n, subsidised in db.session.execute(
        sa.select(
            Meal.facility_id,
            sa.func.count(Meal.id),
            sa.func.count(Meal.id).filter(Meal.subsidised.is_(True)),
        )
        .where(Meal.facility_id.in_(ids), Meal.day.between(period.first, period.last))
        .group_by(Meal.facility_id)
    ):
        rows[fid].meals = n
        rows[fid].subsidised_meals = subsidised

    served = served_pairs(ids, period)
    for fid, n in db.session.execute(
        sa.select(served.c.facility_id, sa.func.count(served.c.person_id)).group_by(
            served.c.facility_id
        )
    ):
        rows[fid].people_served = n
    people = sa.select(served.c.person_id).distinct().subquery()
    people_served = db.session.scalar(sa.select(sa.func.count()).select_from(people))

    for fid, n in db.session.execute(
        sa.select(Activity.facility_id, sa.func.count(Activity.id))
        .where(
            Activity.facility_id.in_(ids),
            Activity.starts_at >= period.start_at,
            Activity.starts_at < period.end_at,
        )
        .group_by(Activity.facility_id)
    ):
        rows[fid].activities = n

    # Operating: some attendance in the idle_days days up to today.
    since = today - timedelta(days=idle_days - 1)
    for row in rows.values():
        row.not_operating = row.last_attendance is None or row.last_attendance < since

    centers = list(rows.values())
    averages = [r for r in centers if r.average_daily is not None]
    total = Totals(
        centers=len(centers),
        not_operating=sum(r.not_operating for r in centers),
        capacity=sum(r.capacity for r in averages),
        person_days=sum(r.person_days for r in centers),
        people_served=people_served,
        average_daily=sum(r.average_daily for r in averages) if averages else None,
        meals=sum(r.meals for r in centers),
        subsidised_meals=sum(r.subsidised_meals for r in centers),
        activities=sum(r.activities for r in centers),
    )
    return Rollup(region, period, idle_days, today, centers, total)
