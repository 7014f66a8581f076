"""Scheduled work of the visit feature: the morning digest, overdue reminders and the
escalation to township staff. Each job is idempotent (outbox keys), set-based, takes the
time it runs for (``now``, for catching up and for tests) and commits its own work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.db import local_date, utcnow
from eldercare.core.masking import mask_name
from eldercare.core.permissions import Role
from eldercare.extensions import db
from eldercare.notifications.operations import notify_many
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.visits import notices
from eldercare.visits import operations as ops
from eldercare.visits.models import CareAssignment, CareTarget, VisitPolicy
from eldercare.visits.notices import DueLine

CHUNK = 5000


def _clock(now: datetime | None) -> tuple[datetime, object]:
    now = (now or utcnow()).astimezone(UTC)
    return now, local_date(now)


def _policies() -> dict[int, VisitPolicy]:
    """Saved policies by county; counties without one use the defaults."""
    return {p.region_id: p for p in db.session.scalars(sa.select(VisitPolicy))}


def _policy(policies: dict[int, VisitPolicy], county_id: int) -> VisitPolicy:
    policy = policies.get(county_id)
    if policy is None:
        policy = policies[county_id] = VisitPolicy.defaults(county_id)
    return policy


TIER = sa.func.coalesce(CareTarget.override_tier, CareTarget.computed_tier)


def _due_rows(condition, with_visitor: bool = True) -> list[sa.Row]:
    """Active plans matching ``condition`` with the person's (masked) name and village,
    and each assigned active visitor when asked."""
    columns = [
        CareTarget.id,
        CareTarget.county_id,
        CareTarget.next_due_on,
        CareTarget.urgent_due_at,
        CareTarget.escalated_for,
        TIER.label("tier"),
        Person.name,
        Person.region_id,
        Region.name.label("village"),
        Region.code.label("region_code"),
    ]
    stmt = (
        sa.select(*columns)
        .join(Person, Person.id == CareTarget.person_id)
        .join(Region, Region.id == Person.region_id)
        .where(CareTarget.active.is_(True), Person.death_date.is_(None), condition)
    )
    if with_visitor:
        stmt = (
            stmt.add_columns(CareAssignment.visitor_id, User.locale)
            .join(CareAssignment, CareAssignment.target_id == CareTarget.id)
            .join(User, User.id == CareAssignment.visitor_id)
            .where(User.active.is_(True))
        )
    # Read whole before the outbox is written on the same connection.
    return db.session.execute(stmt.order_by(CareTarget.id)).all()


def _line(row, today, now) -> DueLine:
    urgent = row.urgent_due_at is not None and row.urgent_due_at <= now
    overdue_days = (today - row.next_due_on).days if row.next_due_on else 0
    return DueLine(
        target_id=row.id,
        name=mask_name(row.name),
        village=row.village,
        tier=row.tier,
        next_due_on=row.next_due_on,
        overdue_days=max(overdue_days, 0),
        urgent=urgent,
        missed=_marker(row, now),
    )


def send_daily_digests(now: datetime | None = None) -> int:
    """Morning digest to each visitor of the visits overdue or due within the county's
    "due soon" days. Plans of people who died are ended and tiers recomputed first (ages
    cross thresholds with time: turning 80), so the digest lists exactly what is due."""
    now, today = _clock(now)
    ops.end_departed(today)
    ops.recompute_birthdays(today)
    db.session.flush()
    policies = _policies()
    widest = max(
        [p.due_soon_days for p in policies.values()] + [VisitPolicy.defaults().due_soon_days]
    )
    condition = sa.or_(
        CareTarget.next_due_on <= today + timedelta(days=widest),
        CareTarget.urgent_due_at.is_not(None),
    )
    by_user: dict[int, list[DueLine]] = {}
    locales: dict[int, str | None] = {}
    for row in _due_rows(condition):
        soon = _policy(policies, row.county_id).due_soon_days
        if row.urgent_due_at is None and row.next_due_on > today + timedelta(days=soon):
            continue
        by_user.setdefault(row.visitor_id, []).append(_line(row, today, now))
        locales[row.visitor_id] = row.locale
    for items in by_user.values():
        items.sort(key=lambda i: (not i.urgent, -i.overdue_days, i.next_due_on, i.target_id))
    sent = notify_many(notices.digest(locales, by_user, today))
    db.session.commit()
    return sent


def remind_overdue(now: datetime | None = None) -> int:
    """One reminder to each assigned visitor per plan and missed due date (or missed event
    deadline): run it as often as you like, each is sent once."""
    now, today = _clock(now)
    condition = sa.or_(
        CareTarget.next_due_on < today,
        sa.and_(CareTarget.urgent_due_at.is_not(None), CareTarget.urgent_due_at <= now),
    )
    pairs, locales = [], {}
    sent = 0
    for row in _due_rows(condition):
        pairs.append((row.visitor_id, _line(row, today, now)))
        locales[row.visitor_id] = row.locale
        if len(pairs) >= CHUNK:
            sent += notify_many(notices.overdue(locales, pairs))
            pairs = []
    sent += notify_many(notices.overdue(locales, pairs))
    db.session.commit()
    return sent


def _marker(row, now) -> str:
    if row.urgent_due_at is not None and row.urgent_due_at <= now:
        return "event:" + row.urgent_due_at.isoformat(timespec="minutes")
    return row.next_due_on.isoformat()


def _staff_by_area() -> tuple[dict[str, list[User]], dict[str, list[User]]]:
    """Active township staff by township code, county staff by county code."""
    rows = db.session.execute(
        sa.select(User, Region.code)
        .join(Region, Region.id == User.region_id)
        .where(
            User.active.is_(True),
            User.role.in_([Role.TOWNSHIP_STAFF.value, Role.COUNTY_STAFF.value]),
        )
    ).all()
    townships: dict[str, list[User]] = {}
    counties: dict[str, list[User]] = {}
    for user, code in rows:
        (townships if user.role == Role.TOWNSHIP_STAFF.value else counties).setdefault(
            code, []
        ).append(user)
    return townships, counties


def escalate_overdue(now: datetime | None = None) -> int:
    """Plans overdue for the county's escalation days (or a missed major-event deadline) go
    to the township staff of the person's township (the county staff where a township has
    none), once per missed date: the plan remembers what was escalated."""
    now, today = _clock(now)
    policies = _policies()
    narrowest = min(
        [p.escalation_days for p in policies.values()] + [VisitPolicy.defaults().escalation_days]
    )
    condition = sa.or_(
        CareTarget.next_due_on <= today - timedelta(days=narrowest),
        sa.and_(CareTarget.urgent_due_at.is_not(None), CareTarget.urgent_due_at <= now),
    )
    townships, counties = _staff_by_area()
    by_user: dict[int, list[DueLine]] = {}
    locales: dict[int, str | None] = {}
    marks = []
    for row in _due_rows(condition, with_visitor=False):
        limit = _policy(policies, row.county_id).escalation_days
        urgent = row.urgent_due_at is not None and row.urgent_due_at <= now
        if not urgent and row.next_due_on > today - timedelta(days=limit):
            continue
        marker = _marker(row, now)
        if row.escalated_for == marker:
            continue
        code = row.region_code
        staff = townships.get(code[:9] + "000") or counties.get(code[:6] + "000000") or []
        if not staff:
            continue  # nobody to tell yet: tried again on the next run
        for user in staff:
            by_user.setdefault(user.id, []).append(_line(row, today, now))
            locales[user.id] = user.locale
        marks.append({"id": row.id, "escalated_for": marker})
    sent = notify_many(notices.escalation(locales, by_user, today))
    if marks:
        db.session.execute(sa.update(CareTarget), marks)
    db.session.commit()
    return sent
