"""The lists of the visit pages: who is due (overdue, due soon, visited today), the plans
found by a search, a plan's visits, events and open follow-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from eldercare.core.db import day_start, local_today, utcnow
from eldercare.core.permissions import STAFF_ROLES, Role, role_of, scope_clause
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.visits.models import (
    CareAssignment,
    CareTarget,
    DueStatus,
    FollowUp,
    MajorEvent,
    Visit,
    VisitPolicy,
)
from eldercare.visits.operations.policy import county_of, policy_for


def due_condition(today: date, now: datetime, soon_days: int):
    """SQL for a plan whose visit is overdue or falls due within ``soon_days``."""
    return sa.and_(
        CareTarget.active.is_(True),
        sa.or_(
            CareTarget.next_due_on <= today + timedelta(days=soon_days),
            CareTarget.urgent_due_at.is_not(None),
        ),
    )


def status_condition(status: str, today: date, now: datetime, soon_days: int):
    """SQL for one due status, the same as ``CareTarget.status_on`` (NULLs made explicit so
    that a negation never drops a row)."""
    overdue = sa.or_(
        CareTarget.next_due_on < today,
        sa.and_(CareTarget.urgent_due_at.is_not(None), CareTarget.urgent_due_at <= now),
    )
    visited_today = sa.and_(
        CareTarget.last_visit_at.is_not(None),
        CareTarget.last_visit_at >= day_start(today),
        CareTarget.urgent_due_at.is_(None),  # a major event still waits for its visit
    )
    soon = sa.or_(
        CareTarget.next_due_on <= today + timedelta(days=soon_days),
        CareTarget.urgent_due_at.is_not(None),
    )
    active = sa.and_(CareTarget.active.is_(True), CareTarget.next_due_on.is_not(None))
    if status == DueStatus.OVERDUE:
        return sa.and_(active, overdue)
    if status == DueStatus.DONE:
        return sa.and_(active, sa.not_(overdue), visited_today)
    if status == DueStatus.DUE:
        return sa.and_(active, sa.not_(overdue), sa.not_(visited_today), soon)
    return sa.and_(active, sa.not_(overdue), sa.not_(visited_today), sa.not_(soon))


@dataclass
class DueList:
    overdue: list[CareTarget]
    due: list[CareTarget]
    done: list[CareTarget]


def due_list(user, today: date | None = None, now: datetime | None = None) -> DueList:
    """A visitor's (or staff's) "today and overdue": overdue first (the longest waiting at
    the top), then due soon, then those visited today."""
    today = today or local_today()
    now = now or utcnow()
    soon = _soon_days_for(user)
    rows = db.session.scalars(
        sa.select(CareTarget)
        .where(
            scope_clause(CareTarget, user),
            CareTarget.active.is_(True),
            sa.or_(
                due_condition(today, now, soon),
                CareTarget.last_visit_at >= day_start(today),
            ),
        )
        .options(joinedload(CareTarget.person).joinedload(Person.region))
        .order_by(
            CareTarget.urgent_due_at.asc().nulls_last(), CareTarget.next_due_on, CareTarget.id
        )
        .limit(500)
    ).all()
    out = DueList([], [], [])
    for target in rows:
        status = target.status_on(today, now, soon)
        {
            DueStatus.OVERDUE.value: out.overdue,
            DueStatus.DUE.value: out.due,
            DueStatus.DONE.value: out.done,
        }.get(status, []).append(target)
    return out


def _soon_days_for(user) -> int:
    region = user.region
    if region is not None and region.level in ("county", "township", "village"):
        return policy_for(county_of(region).id).due_soon_days
    return VisitPolicy.defaults().due_soon_days


def search_targets(user, args: dict, today: date | None = None) -> sa.Select:
    today = today or local_today()
    now = utcnow()
    stmt = (
        sa.select(CareTarget)
        .join(Person, Person.id == CareTarget.person_id)
        .where(scope_clause(CareTarget, user))
        .options(
            joinedload(CareTarget.person).joinedload(Person.region),
            selectinload(CareTarget.assignments).joinedload(CareAssignment.visitor),
        )
    )
    if not args.get("include_ended"):
        stmt = stmt.where(CareTarget.active.is_(True))
    if args.get("status"):
        stmt = stmt.where(status_condition(args["status"], today, now, _soon_days_for(user)))
    if args.get("tier"):
        tier = sa.func.coalesce(CareTarget.override_tier, CareTarget.computed_tier)
        stmt = stmt.where(tier == args["tier"])
    if args.get("region_id"):
        region = db.session.get(Region, args["region_id"])
        if region is not None:
            stmt = stmt.where(Person.region_id.in_(Region.subtree_ids(region)))
    if args.get("visitor_id"):
        stmt = stmt.where(
            CareTarget.assignments.any(CareAssignment.visitor_id == args["visitor_id"])
        )
    if args.get("unassigned"):
        stmt = stmt.where(~CareTarget.assignments.any())
    if args.get("q"):
        stmt = stmt.where(Person.name.contains(args["q"], autoescape=True))
    return stmt.order_by(CareTarget.next_due_on.asc().nulls_last(), CareTarget.id)


def visits_of(target: CareTarget, limit: int = 100) -> list[Visit]:
    return list(
        db.session.scalars(
            sa.select(Visit)
            .where(Visit.target_id == target.id)
            .options(joinedload(Visit.visitor), selectinload(Visit.follow_ups))
            .order_by(Visit.visited_at.desc(), Visit.id.desc())
            .limit(limit)
        )
    )


def events_of(target: CareTarget) -> list[MajorEvent]:
    return list(
        db.session.scalars(
            sa.select(MajorEvent)
            .where(MajorEvent.target_id == target.id)
            .order_by(MajorEvent.occurred_at.desc())
        )
    )


def open_follow_ups(user, target: CareTarget | None = None) -> list[FollowUp]:
    stmt = (
        sa.select(FollowUp)
        .where(scope_clause(FollowUp, user), FollowUp.closed_at.is_(None))
        .options(
            joinedload(FollowUp.target).joinedload(CareTarget.person),
            joinedload(FollowUp.assigned_to),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    if target is not None:
        stmt = stmt.where(FollowUp.target_id == target.id)
    elif role_of(user) not in STAFF_ROLES | {Role.ADMIN}:
        stmt = stmt.where(FollowUp.assigned_to_id == user.id)
    return list(db.session.scalars(stmt.limit(200)))


def overdue_in(user, region: Region, today: date | None = None):
    """The first 50 overdue plans of an area (the coverage page's list)."""
    return db.paginate(
        search_targets(user, {"status": "overdue", "region_id": region.id}, today),
        page=1,
        per_page=50,
        error_out=False,
    )


def reloaded(record):
    """The record as the database holds it now (after a refused action rolled back)."""
    db.session.refresh(record)
    return record
