"""Scheduled work of the visit feature: the morning digest, overdue reminders, the
escalation to township staff, and the nightly repair of plans of people who left. Each job is
idempotent (outbox keys), set-based, takes the time it runs for (``now``, for catching up and
for tests) and commits its own work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core import audit
from eldercare.core.db import local_date, utcnow
from eldercare.core.permissions import Role
from eldercare.extensions import db
from eldercare.notifications.operations import cancel_about, notify_many, pending_about_departed
from eldercare.regions.models import Region
from eldercare.visits import notices
from eldercare.visits import operations as ops
from eldercare.visits.due_lines import digest_lines, due_rows, line, marker, policies, policy_of
from eldercare.visits.models import CareTarget, VisitPolicy
from eldercare.visits.notices import DueLine
from eldercare.visits.operations import departures

CHUNK = 5000
REPAIR = "repair"


def _clock(now: datetime | None) -> tuple[datetime, object]:
    now = (now or utcnow()).astimezone(UTC)
    return now, local_date(now)


def send_daily_digests(now: datetime | None = None) -> int:
    """Morning digest to each visitor of the visits overdue or due within the county's
    "due soon" days. Tiers are recomputed first (ages cross thresholds with time: turning
    80), so the digest lists exactly what is due; people who died or moved away are never
    listed (their plans are ended by the registry's event, or by ``repair_departed``)."""
    now, today = _clock(now)
    ops.recompute_birthdays(today)
    db.session.flush()
    by_user, locales = digest_lines(today, now)
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
    for row in due_rows(condition):
        pairs.append((row.visitor_id, line(row, today, now)))
        locales[row.visitor_id] = row.locale
        if len(pairs) >= CHUNK:
            sent += notify_many(notices.overdue(locales, pairs))
            pairs = []
    sent += notify_many(notices.overdue(locales, pairs))
    db.session.commit()
    return sent


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
    known = policies()
    narrowest = min(
        [p.escalation_days for p in known.values()] + [VisitPolicy.defaults().escalation_days]
    )
    condition = sa.or_(
        CareTarget.next_due_on <= today - timedelta(days=narrowest),
        sa.and_(CareTarget.urgent_due_at.is_not(None), CareTarget.urgent_due_at <= now),
    )
    townships, counties = _staff_by_area()
    by_user: dict[int, list[DueLine]] = {}
    locales: dict[int, str | None] = {}
    marks = []
    for row in due_rows(condition, with_visitor=False):
        limit = policy_of(known, row.county_id).escalation_days
        urgent = row.urgent_due_at is not None and row.urgent_due_at <= now
        if not urgent and row.next_due_on > today - timedelta(days=limit):
            continue
        missed = marker(row, now)
        if row.escalated_for == missed:
            continue
        code = row.region_code
        staff = townships.get(code[:9] + "000") or counties.get(code[:6] + "000000") or []
        if not staff:
            continue  # nobody to tell yet: tried again on the next run
        for user in staff:
            by_user.setdefault(user.id, []).append(line(row, today, now))
            locales[user.id] = user.locale
        marks.append({"id": row.id, "escalated_for": missed})
    sent = notify_many(notices.escalation(locales, by_user, today))
    if marks:
        db.session.execute(sa.update(CareTarget), marks)
    db.session.commit()
    return sent


def repair_departed(now: datetime | None = None) -> int:
    """The nightly repair of what a death or a move out of the county left behind in visits
    (a plan still active, visitors still assigned to an ended plan, a reminder about the
    person still waiting), by the operations the registry's event uses; audited as a repair,
    without telling anyone. How many things were repaired: 0 on a healthy database."""
    now, _today = _clock(now)
    repaired = 0
    for target in departures.active_plans_of_departed():
        reason, on = ops.departure_of(target.person)
        if ops.follow_departure(target.person, reason, on, None, note=REPAIR, now=now):
            repaired += 1
    for target in departures.ended_plans_with_visitors():
        repaired += 1 if ops.close_assignments(target, None, note=REPAIR) else 0
    for person_id in pending_about_departed(departures.departed_people()):
        count = cancel_about(person_id, "cancelled: the person it is about has left (repair)")
        if count:
            audit.record(
                "outbox.cancelled",
                None,
                changes={"about_person_id": [None, person_id], "messages": [None, count]},
                note=REPAIR,
            )
            repaired += count
    db.session.commit()
    return repaired
