"""Day-care operating figures: the monthly report of one center (the evidence for operating
subsidies, 运营补贴, and for rating) and the roll-up of every center of an area, and their
.xlsx exports. The one place where each figure is defined:

- period: the calendar month, cut at today (a future part of the current month is not
  counted); all days are county (Asia/Shanghai) dates.
- open days: days of the period on one of the center's opening weekdays that are not one of
  its closed days. A facility never configured has the defaults of ``Center`` (Mon-Fri, 30).
- person-days (出勤人次): attendance records in the period, one per person and day, whatever
  the day (people who came on an extra day still came).
- people served: distinct people who attended or had a meal at the center in the period.
- average daily attendance: person-days / open days (none without an open day); its ratio
  to the capacity.
- members at the end: distinct people whose membership covers the period's last day (the
  leaving day is their last day as a member); new members and leavers: memberships that
  began / ended in the period (distinct people).
- walk-ins: attendance records marked walk-in (person-days of people who were not members).
- meals: meals served in the period, by type; subsidised meals: those marked subsidised, and
  their amount: the sum of the price recorded on each of them, in fen.
- activities: activities that started in the period; participant-times: their participants,
  each counted once per activity.
- incidents: incidents that occurred in the period, by risk; open: those of them not closed.
- not operating (roll-up): no attendance recorded in the ``idle_days`` days up to today
  (today - idle_days + 1 .. today), or never.

Every figure comes from a constant number of grouped queries: none per day, person or center.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import contains_eager

from eldercare.beds.models import RISKS
from eldercare.core.db import local_today, local_zone
from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.periods import month_bounds
from eldercare.core.spreadsheets import ExportHeader, append_row, write_header
from eldercare.daycare.models import (
    DAYCARE_KINDS,
    MEAL_LABELS,
    WEEKDAY_LABELS,
    Activity,
    Attendance,
    Center,
    ClosedDay,
    Incident,
    Meal,
    MealType,
    Member,
    activity_participant,
)
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.models import Region

MEAL_TYPES = tuple(t.value for t in MealType)


def _column_default(name: str):
    default = Center.__table__.c[name].default
    return default.arg(None) if default.is_callable else default.arg


@dataclass(frozen=True)
class CenterSettings:
    """What the figures need of a center's settings (the defaults when never configured)."""

    capacity: int
    open_days: frozenset[int]
    meal_types: tuple[str, ...]

    @classmethod
    def of(cls, center: Center | None) -> CenterSettings:
        if center is None:
            return cls(
                _column_default("capacity"),
                frozenset(_column_default("open_days")),
                tuple(_column_default("meal_types")),
            )
        return cls(
            center.capacity, frozenset(center.open_days or ()), tuple(center.meal_types or ())
        )


@dataclass(frozen=True)
class Period:
    """The days of a month that count: its first day up to its last day or today."""

    month: date
    first: date
    last: date  # before ``first`` when the whole month is in the future

    @classmethod
    def of(cls, month: date, today: date) -> Period:
        first, nxt = month_bounds(month)
        return cls(first, first, min(nxt - timedelta(days=1), today))

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def start_at(self) -> datetime:
        """The period's first moment (county midnight) in UTC."""
        return _midnight(self.first)

    @property
    def end_at(self) -> datetime:
        """The moment after the period (midnight after its last day) in UTC; the start
        itself for a month all in the future (an empty period)."""
        return _midnight(max(self.last + timedelta(days=1), self.first))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


def _open_days(settings: CenterSettings, period: Period, closed: set[date]) -> int:
    return sum(1 for d in period.days if d.weekday() in settings.open_days and d not in closed)


def _ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def _served(facility_ids, period: Period) -> sa.Subquery:
    """(facility_id, person_id) of everyone who attended or had a meal in the period."""
    attended = sa.select(Attendance.facility_id, Attendance.person_id).where(
        Attendance.facility_id.in_(facility_ids),
        Attendance.day.between(period.first, period.last),
    )
    fed = sa.select(Meal.facility_id, Meal.person_id).where(
        Meal.facility_id.in_(facility_ids), Meal.day.between(period.first, period.last)
    )
    return sa.union(attended, fed).subquery()


# --- one center's month ---------------------------------------------------------------------


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
        return _ratio(self.person_days, self.open_days)

    @property
    def capacity_ratio(self) -> float | None:
        return _ratio(self.average_daily, self.settings.capacity)


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

    served = _served([fid], period)
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


# --- every center of an area ----------------------------------------------------------------


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
        return _ratio(self.person_days, self.open_days)

    @property
    def capacity_ratio(self) -> float | None:
        return _ratio(self.average_daily, self.capacity)


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
        return _ratio(self.average_daily, self.capacity)


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
            facility, settings, _open_days(settings, period, closed.get(facility.id, set()))
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

    served = _served(ids, period)
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


# --- .xlsx exports (Chinese titles: they are filed with the county's paperwork) ---------------


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
