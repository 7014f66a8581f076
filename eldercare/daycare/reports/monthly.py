"""One center's month: the figures of its report, by day and in total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from eldercare.beds.models import RISKS
from eldercare.core.db import local_today
from eldercare.daycare.models import (
    WEEKDAY_LABELS,
    Activity,
    Attendance,
    Center,
    ClosedDay,
    Incident,
    Meal,
    Member,
    activity_participant,
)
from eldercare.daycare.reports.common import MEAL_TYPES, CenterSettings, Period, ratio, served_pairs
from eldercare.extensions import db
from eldercare.facilities.models import Facility


@dataclass
class DayFigures:
    day: date
    open: bool
    attendance: int = 0
    meals: int = 0

    @property
    def weekday_label(self) -> str:
        return str(WEEKDAY_LABELS[self.day.weekday()])


@dataclass
class MonthlyReport:
    facility: Facility
    period: Period
    settings: CenterSettings
    closed_days: list[date]  # closed days of the period that fell on an opening weekday
    open_days: int
    person_days: int
    people_served: int
    members_at_end: int
    new_members: int
    leavers: int
    walk_ins: int
    meals_by_type: dict[str, int]
    subsidised_meals: int
    subsidised_amount_fen: int
    activities: int
    participant_times: int
    incidents_by_risk: dict[str, int]
    open_incidents: int
    days: list[DayFigures]

    @property
    def month(self) -> date:
        return self.period.month

    @property
    def meals(self) -> int:
        return sum(self.meals_by_type.values())

    @property
    def incidents(self) -> int:
        return sum(self.incidents_by_risk.values())

    @property
    def average_daily(self) -> float | None:
        return ratio(self.person_days, self.open_days)

    @property
    def capacity_ratio(self) -> float | None:
        return ratio(self.average_daily, self.settings.capacity)


def monthly_report(facility: Facility, month: date, today: date | None = None) -> MonthlyReport:
    """The month's operating figures of one center (see the module for the definitions):
    eight grouped queries whatever the number of days, people or meals."""
    period = Period.of(month, today or local_today())
    fid = facility.id
    settings = CenterSettings.of(
        db.session.scalar(sa.select(Center).where(Center.facility_id == fid))
    )
    closed = set(
        db.session.scalars(
            sa.select(ClosedDay.day).where(
                ClosedDay.facility_id == fid, ClosedDay.day.between(period.first, period.last)
            )
        )
    )
    days = {
        d: DayFigures(d, d.weekday() in settings.open_days and d not in closed) for d in period.days
    }

    walk_ins = 0
    for day, n, walk in db.session.execute(
        sa.select(
            Attendance.day,
            sa.func.count(Attendance.id),
            sa.func.count(Attendance.id).filter(Attendance.walk_in.is_(True)),
        )
        .where(Attendance.facility_id == fid, Attendance.day.between(period.first, period.last))
        .group_by(Attendance.day)
    ):
        days[day].attendance = n
        walk_ins += walk

    meals_by_type = dict.fromkeys(MEAL_TYPES, 0)
    subsidised = subsidised_fen = 0
    for day, meal_type, is_subsidised, n, fen in db.session.execute(
        sa.select(
            Meal.day,
            Meal.meal_type,
            Meal.subsidised,
            sa.func.count(Meal.id),
            sa.func.coalesce(sa.func.sum(Meal.price_fen), 0),
        )
        .where(Meal.facility_id == fid, Meal.day.between(period.first, period.last))
        .group_by(Meal.day, Meal.meal_type, Meal.subsidised)
    ):
        days[day].meals += n
        meals_by_type[meal_type] += n
        if is_subsidised:
            subsidised += n
            subsidised_fen += fen

    served = served_pairs([fid], period)
    people_served = db.session.scalar(sa.select(sa.func.count()).select_from(served))

    person = sa.distinct(Member.person_id)
    members_at_end, new_members, leavers = db.session.execute(
        sa.select(
            sa.func.count(person).filter(
                Member.joined_on <= period.last,
                sa.or_(Member.left_on.is_(None), Member.left_on >= period.last),
            ),
            sa.func.count(person).filter(Member.joined_on.between(period.first, period.last)),
            sa.func.count(person).filter(Member.left_on.between(period.first, period.last)),
        ).where(Member.facility_id == fid)
    ).one()

    activities, participant_times = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(Activity.id)), sa.func.count(activity_participant.c.person_id)
        )
        .select_from(Activity)
        .outerjoin(activity_participant, activity_participant.c.activity_id == Activity.id)
        .where(
            Activity.facility_id == fid,
            Activity.starts_at >= period.start_at,
            Activity.starts_at < period.end_at,
        )
    ).one()

    incidents_by_risk: dict[str, int] = {}
    open_incidents = 0
    for risk, n, still_open in db.session.execute(
        sa.select(
            Incident.risk,
            sa.func.count(Incident.id),
            sa.func.count(Incident.id).filter(Incident.closed_at.is_(None)),
        )
        .where(
            Incident.facility_id == fid,
            Incident.occurred_at >= period.start_at,
            Incident.occurred_at < period.end_at,
        )
        .group_by(Incident.risk)
    ):
        incidents_by_risk[risk] = n
        open_incidents += still_open
    # The nine risks in the standard's order, those that happened only.
    incidents_by_risk = {k: incidents_by_risk[k] for k in RISKS if k in incidents_by_risk}

    series = list(days.values())
    return MonthlyReport(
        facility=facility,
        period=period,
        settings=settings,
        closed_days=sorted(d for d in closed if d.weekday() in settings.open_days),
        open_days=sum(1 for d in series if d.open),
        person_days=sum(d.attendance for d in series),
        people_served=people_served,
        members_at_end=members_at_end,
        new_members=new_members,
        leavers=leavers,
        walk_ins=walk_ins,
        meals_by_type=meals_by_type,
        subsidised_meals=subsidised,
        subsidised_amount_fen=subsidised_fen,
        activities=activities,
        participant_times=participant_times,
        incidents_by_risk=incidents_by_risk,
        open_incidents=open_incidents,
        days=series,
    )
