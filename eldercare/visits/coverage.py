"""Monthly visit rate (月探访率) by area, overdue counts, and the visit ledger (台账) export.

The one definition of a month's figures, for the per-area figures and the trend alike: of the
plans counted in the month, the share visited at least once in it (county time). Which plans
count is the county's choice (``VisitPolicy.rate_basis``), applied to each plan by its own
county's rules:

- ``covered``: every plan active at some time in the month (enrolled on or before its last
  day, not ended before its first), as the national target of visiting everyone reads;
- ``due``: of those, the plans whose visit fell due in the month or was overdue at its start:
  the last visit before the month plus the interval of the plan's tier (today's tier: tiers
  keep no history), or for a plan never visited its enrolment plus the first visit's allowance.
  While the month runs, a visit due after today counts only once it is done.

Either can be asked for (``basis``), so a county sees both. The target is 100%."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook

from eldercare.auth.models import User
from eldercare.core.db import local_today, local_zone, utcnow
from eldercare.core.periods import month_bounds
from eldercare.core.spreadsheets import append_row
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import PREFIX_LENGTH, Level, Region
from eldercare.visits.models import (
    FINDING_CHOICES,
    METHOD_LABELS,
    TIER_LABELS,
    CareTarget,
    FollowUp,
    Method,
    RateBasis,
    Tier,
    Visit,
    VisitPolicy,
)

TARGET_RATE = 1.0


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


@dataclass
class Rate:
    region: Region | None
    targets: int = 0
    visited: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float | None:
        return self.visited / self.targets if self.targets else None

    @property
    def meets_target(self) -> bool | None:
        return None if self.rate is None else self.rate >= TARGET_RATE


@dataclass
class Coverage:
    region: Region
    month: date
    total: Rate
    by_subregion: list[Rate] = field(default_factory=list)
    trend: list[tuple[date, float | None]] = field(default_factory=list)
    #: The basis the figures use: the one asked for, or the counties' choice (None when the
    #: counties of the area chose differently: each plan counts by its own county's).
    basis: str | None = RateBasis.COVERED.value


@dataclass
class Rules:
    """What decides which plans count in a month: the basis asked for (or each county's
    choice) and the intervals of the counties that count visits due."""

    basis: str | None
    #: (intervals by tier, first visit days) -> counties using them; None: every other county
    #: (those without saved rules, on the defaults).
    groups: dict[tuple, list[int] | None] = field(default_factory=dict)
    #: Counties counting by visits due (the counties' choice), or None for all of them.
    due_counties: list[int] | None = None
    #: The basis to name on the page (None: the area's counties chose differently).
    shown: str | None = RateBasis.COVERED.value

    @property
    def uses_due(self) -> bool:
        return self.basis == RateBasis.DUE.value or bool(self.due_counties)


def _shape(policy: VisitPolicy) -> tuple:
    return (
        (
            (Tier.HIGH.value, policy.high_interval_days),
            (Tier.KEY.value, policy.key_interval_days),
            (Tier.GENERAL.value, policy.general_interval_days),
        ),
        policy.first_visit_days,
    )


def rules_for(region: Region, basis: str | None = None) -> Rules:
    """The visit rules of the counties whose plans lie under ``region`` (its own county, or
    the counties below it)."""
    ancestors, node = [], region
    while node is not None:
        ancestors.append(node.id)
        node = node.parent
    saved = db.session.scalars(
        sa.select(VisitPolicy).where(
            sa.or_(
                VisitPolicy.region_id.in_(Region.subtree_ids(region)),
                VisitPolicy.region_id.in_(ancestors),
            )
        )
    ).all()
    chosen = {p.rate_basis or RateBasis.COVERED.value for p in saved}
    if basis is None:
        due = [p.region_id for p in saved if p.rate_basis == RateBasis.DUE.value]
        counties_without = region.level not in ("county", "township", "village") and (
            db.session.scalar(
                sa.select(sa.func.count(Region.id)).where(
                    Region.code.startswith(region.prefix, autoescape=True),
                    Region.level == "county",
                    Region.id.not_in([p.region_id for p in saved]),
                )
            )
        )
        if counties_without or not saved:
            chosen.add(RateBasis.COVERED.value)
        rules = Rules(basis=None, due_counties=due)
        rules.shown = chosen.pop() if len(chosen) == 1 else None
    else:
        rules = Rules(basis=basis, shown=basis)
    if rules.uses_due:
        relevant = saved if rules.basis else [p for p in saved if p.region_id in due]
        for policy in relevant:
            rules.groups.setdefault(_shape(policy), []).append(policy.region_id)
        if rules.basis:  # counties without saved rules count on the defaults
            rules.groups[("defaults", _shape(VisitPolicy.defaults()))] = None
    return rules


def _due_in_month(rules: Rules, first: date, nxt: date, saved_ids: list[int]):
    """SQL condition on ``CareTarget``: a visit fell due in the month or was overdue at its
    start, by the plan's county's intervals."""
    last = (
        sa.select(sa.func.max(Visit.visited_at))
        .where(Visit.target_id == CareTarget.id, Visit.visited_at < _start(first))
        .scalar_subquery()
    )
    tier = sa.func.coalesce(CareTarget.override_tier, CareTarget.computed_tier)
    alternatives = []
    for shape, counties in rules.groups.items():
        intervals, first_days = shape[1] if shape[0] == "defaults" else shape
        by_tier = sa.or_(
            *(
                sa.and_(
                    tier == name,
                    sa.or_(
                        last < _start(nxt - timedelta(days=days)),
                        sa.and_(
                            last.is_(None),
                            CareTarget.enrolled_on < nxt - timedelta(days=min(first_days, days)),
                        ),
                    ),
                )
                for name, days in intervals
            )
        )
        if counties is None:
            where = CareTarget.county_id.not_in(saved_ids) if saved_ids else sa.true()
        else:
            where = CareTarget.county_id.in_(counties)
        alternatives.append(sa.and_(where, by_tier))
    return sa.or_(*alternatives) if alternatives else sa.false()


def _month_conditions(
    month: date, rules: Rules | None = None
) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """SQL conditions on ``CareTarget`` for a month: the plan counts in it (by ``rules``),
    and it had a visit in it."""
    first, nxt = month_bounds(month)
    active = sa.and_(
        CareTarget.enrolled_on < nxt,
        sa.or_(CareTarget.ended_on.is_(None), CareTarget.ended_on >= first),
    )
    visited = (
        sa.select(Visit.id)
        .where(
            Visit.target_id == CareTarget.id,
            Visit.visited_at >= _start(first),
            Visit.visited_at < _start(nxt),
        )
        .exists()
    )
    if rules is not None and rules.uses_due:
        saved = [c for counties in rules.groups.values() if counties for c in counties]
        due = _due_in_month(rules, first, nxt, saved)
        tomorrow = local_today() + timedelta(days=1)
        if tomorrow < nxt:  # the month is not over: a visit due later in it counts once done
            due = sa.or_(_due_in_month(rules, first, tomorrow, saved), sa.and_(visited, due))
        if rules.basis is None:  # each county's choice: only the counties counting visits due
            due = sa.or_(CareTarget.county_id.not_in(rules.due_counties), due)
        active = sa.and_(active, due)
    return active, visited


def _per_region(region: Region, month: date, scope, rules: Rules) -> dict[str, tuple[int, int]]:
    """(plans, visited plans) per person region code under ``region`` for a month."""
    active, visited = _month_conditions(month, rules)
    rows = db.session.execute(
        sa.select(
            Region.code,
            sa.func.count(CareTarget.id),
            sa.func.count(CareTarget.id).filter(visited),
        )
        .join(Person, Person.id == CareTarget.person_id)
        .join(Region, Region.id == Person.region_id)
        .where(scope, Region.code.startswith(region.prefix, autoescape=True), active)
        .group_by(Region.code)
    ).all()
    return {code: (n, v) for code, n, v in rows}


def _overdue(region: Region, scope) -> dict[str, int]:
    today, now = local_today(), utcnow()
    rows = db.session.execute(
        sa.select(Region.code, sa.func.count(CareTarget.id))
        .join(Person, Person.id == CareTarget.person_id)
        .join(Region, Region.id == Person.region_id)
        .where(
            scope,
            Region.code.startswith(region.prefix, autoescape=True),
            CareTarget.active.is_(True),
            sa.or_(
                CareTarget.next_due_on < today,
                sa.and_(CareTarget.urgent_due_at.is_not(None), CareTarget.urgent_due_at <= now),
            ),
        )
        .group_by(Region.code)
    ).all()
    return dict(rows)


def coverage(
    region: Region, month: date, scope, trend_months: int = 12, basis: str | None = None
) -> Coverage:
    """The month's rate for ``region`` and each area one level below, and a trend, by
    ``basis`` (default: each county's choice)."""
    rules = rules_for(region, basis)
    counts = _per_region(region, month, scope, rules)
    current = month_bounds(local_today())[0] == month_bounds(month)[0]
    overdue = _overdue(region, scope) if current else {}
    total = Rate(region)
    children = list(region.children) if region.level != Level.VILLAGE.value else []
    by_child = {child.prefix: Rate(child) for child in children}
    width = PREFIX_LENGTH[Level(children[0].level)] if children else None
    for code, (n, v) in counts.items():
        total.targets += n
        total.visited += v
        if width and code[:width] in by_child:
            by_child[code[:width]].targets += n
            by_child[code[:width]].visited += v
    for code, n in overdue.items():
        total.overdue += n
        if width and code[:width] in by_child:
            by_child[code[:width]].overdue += n
    rates = [r for r in by_child.values() if r.targets or r.overdue]
    first = month_bounds(month)[0]
    points = []
    for back in range(trend_months - 1, 0, -1):
        y, m = divmod(first.year * 12 + first.month - 1 - back, 12)
        points.append(date(y, m + 1, 1))
    trend = [
        (point, v / n if n else None) for point, (n, v) in _totals(region, points, scope, rules)
    ]
    trend.append((first, total.rate))
    return Coverage(region, first, total, rates, trend, rules.shown)


def _totals(
    region: Region, months: list[date], scope, rules: Rules | None = None
) -> list[tuple[date, tuple[int, int]]]:
    """(plans, visited plans) under ``region`` for each month, by the same definition as
    ``_per_region``, in one scan of the plans (not one per month)."""
    if not months:
        return []
    columns = []
    for month in months:
        active, visited = _month_conditions(month, rules)
        columns.append(sa.func.count(CareTarget.id).filter(active))
        columns.append(sa.func.count(CareTarget.id).filter(active, visited))
    row = db.session.execute(
        sa.select(*columns)
        .join(Person, Person.id == CareTarget.person_id)
        .join(Region, Region.id == Person.region_id)
        .where(
            scope,
            Region.code.startswith(region.prefix, autoescape=True),
            CareTarget.enrolled_on < month_bounds(months[-1])[1],
        )
    ).one()
    return [(m, (int(row[2 * i]), int(row[2 * i + 1]))) for i, m in enumerate(months)]


LEDGER_COLUMNS = (
    "探访时间",
    "姓名",
    "身份证号",
    "村/社区",
    "风险等级",
    "探访方式",
    "探访人",
    "居住环境",
    "健康状况",
    "精神状态",
    "家庭赡养",
    "安全隐患",
    "接受服务",
    "需求转介",
    "情况摘要",
    "后续跟进",
)


def ledger_xlsx(region: Region, month: date, scope) -> tuple[str, int]:
    """The month's visits under ``region`` as an .xlsx ledger (ID numbers masked, no health
    notes or locations); returns (path, rows)."""
    first, nxt = month_bounds(month)
    tier = sa.func.coalesce(CareTarget.override_tier, CareTarget.computed_tier)
    follow_ups = (
        sa.select(sa.func.count(FollowUp.id)).where(FollowUp.visit_id == Visit.id).scalar_subquery()
    )
    stmt = (
        sa.select(
            Visit.visited_at,
            Person.name,
            Person.id_number_masked,
            Region.name,
            tier,
            Visit.method,
            User.display_name,
            Visit.living_conditions,
            Visit.health,
            Visit.mood,
            Visit.family_support,
            Visit.safety_hazards,
            Visit.services_received,
            Visit.needs_referred,
            Visit.summary,
            follow_ups,
        )
        .join(CareTarget, CareTarget.id == Visit.target_id)
        .join(Person, Person.id == CareTarget.person_id)
        .join(Region, Region.id == Person.region_id)
        .join(User, User.id == Visit.visitor_id)
        .where(
            scope,
            Region.code.startswith(region.prefix, autoescape=True),
            Visit.visited_at >= _start(first),
            Visit.visited_at < _start(nxt),
        )
        .order_by(Visit.visited_at, Visit.id)
    )
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(_("Visit ledger"))
    append_row(sheet, LEDGER_COLUMNS)
    zone = local_zone()
    n = 0
    for r in db.session.execute(stmt.execution_options(yield_per=2000)):
        append_row(
            sheet,
            [
                r[0].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                r[1],
                r[2],
                r[3],
                str(TIER_LABELS[Tier(r[4])]),
                str(METHOD_LABELS[Method(r[5])]),
                r[6],
                str(FINDING_CHOICES["living_conditions"][r[7]]),
                str(FINDING_CHOICES["health"][r[8]]),
                str(FINDING_CHOICES["mood"][r[9]]),
                str(FINDING_CHOICES["family_support"][r[10]]),
                r[11],
                r[12],
                r[13],
                r[14],
                r[15],
            ],
        )
        n += 1
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name, n
