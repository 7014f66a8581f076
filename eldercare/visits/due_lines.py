"""What is due, read set-based for the scheduled messages: the lines of a digest, reminder or
escalation (``DueLine``), from the active plans of people the county still serves."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.masking import mask_name
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.visits.models import CareAssignment, CareTarget, VisitPolicy
from eldercare.visits.notices import DueLine

TIER = sa.func.coalesce(CareTarget.override_tier, CareTarget.computed_tier)


def policies() -> dict[int, VisitPolicy]:
    """Saved policies by county; counties without one use the defaults."""
    return {p.region_id: p for p in db.session.scalars(sa.select(VisitPolicy))}


def policy_of(policies: dict[int, VisitPolicy], county_id: int) -> VisitPolicy:
    policy = policies.get(county_id)
    if policy is None:
        policy = policies[county_id] = VisitPolicy.defaults(county_id)
    return policy


def due_rows(condition, with_visitor: bool = True, visitor_ids=None) -> list[sa.Row]:
    """Active plans matching ``condition`` of people still served (not dead, not moved out
    of the county), with the person's (masked) name and village, and each assigned active
    visitor when asked (only ``visitor_ids``, if given)."""
    columns = [
        CareTarget.id,
        CareTarget.person_id,
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
        .where(
            CareTarget.active.is_(True),
            Person.death_date.is_(None),
            Person.moved_out_on.is_(None),
            condition,
        )
    )
    if with_visitor:
        stmt = (
            stmt.add_columns(CareAssignment.visitor_id, User.locale)
            .join(CareAssignment, CareAssignment.target_id == CareTarget.id)
            .join(User, User.id == CareAssignment.visitor_id)
            .where(User.active.is_(True))
        )
        if visitor_ids is not None:
            stmt = stmt.where(CareAssignment.visitor_id.in_(list(visitor_ids)))
    # Read whole before the outbox is written on the same connection.
    return db.session.execute(stmt.order_by(CareTarget.id)).all()


def marker(row, now: datetime) -> str:
    if row.urgent_due_at is not None and row.urgent_due_at <= now:
        return "event:" + row.urgent_due_at.isoformat(timespec="minutes")
    return row.next_due_on.isoformat()


def line(row, today: date, now: datetime) -> DueLine:
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
        missed=marker(row, now),
        person_id=row.person_id,
    )


def digest_lines(
    today: date, now: datetime, visitor_ids: Iterable[int] | None = None
) -> tuple[dict[int, list[DueLine]], dict[int, str | None]]:
    """Each visitor's digest lines (overdue, or due within the county's "due soon" days),
    most urgent first, and the visitors' languages; only ``visitor_ids`` if given."""
    known = policies()
    widest = max([p.due_soon_days for p in known.values()] + [VisitPolicy.defaults().due_soon_days])
    condition = sa.or_(
        CareTarget.next_due_on <= today + timedelta(days=widest),
        CareTarget.urgent_due_at.is_not(None),
    )
    by_user: dict[int, list[DueLine]] = {}
    locales: dict[int, str | None] = {}
    for row in due_rows(condition, visitor_ids=visitor_ids):
        soon = policy_of(known, row.county_id).due_soon_days
        if row.urgent_due_at is None and row.next_due_on > today + timedelta(days=soon):
            continue
        by_user.setdefault(row.visitor_id, []).append(line(row, today, now))
        locales[row.visitor_id] = row.locale
    for items in by_user.values():
        items.sort(key=lambda i: (not i.urgent, -i.overdue_days, i.next_due_on, i.target_id))
    return by_user, locales
