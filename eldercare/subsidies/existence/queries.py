"""What the existence pages and the job read: the checks coming due and overdue (in a user's
scope or everywhere), a program list with their settings, an enrolment's checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.core.masking import mask_name
from eldercare.core.permissions import scope_clause, visible
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.subsidies.existence.models import NOTICE_DAYS, ExistenceCheck, ExistencePolicy
from eldercare.subsidies.existence.operations import CHECKED_STATUSES, base_of, due_on
from eldercare.subsidies.models import (
    PERSON_KINDS,
    Enrolment,
    EnrolmentStatus,
    Program,
    SuspendReason,
)


@dataclass(frozen=True)
class DueCheck:
    """An enrolment whose check is due within the notice window, or overdue."""

    enrolment_id: int
    program_id: int
    program: str
    region_code: str
    area: str
    name: str  # masked
    last_checked_on: date | None
    due_on: date
    grace_ends_on: date  # the last day before payments are suspended
    days_overdue: int
    active: bool  # still paid (the job suspends it once the grace period is over)
    suspended_for_check: bool  # a check resumes it

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0


def active_policies() -> list[ExistencePolicy]:
    return list(
        db.session.scalars(
            sa.select(ExistencePolicy)
            .where(ExistencePolicy.active.is_(True))
            .order_by(ExistencePolicy.program_id)
        )
    )


def checks_due(today: date, user=None, horizon: int = NOTICE_DAYS) -> list[DueCheck]:
    """Checks due by ``today + horizon`` (overdue ones included), of people who have not
    died or moved away, most overdue first; in ``user``'s scope when given."""
    limit = today + timedelta(days=horizon)
    # A program switched on less than an interval ago has nobody due yet.
    policies = {
        p.program_id: p
        for p in active_policies()
        if due_on(p.counted_from, p.interval_months) <= limit
    }
    if not policies:
        return []
    last = (
        sa.select(
            ExistenceCheck.enrolment_id,
            sa.func.max(ExistenceCheck.checked_on).label("last_on"),
        )
        .group_by(ExistenceCheck.enrolment_id)
        .subquery()
    )
    base = sa.func.coalesce(last.c.last_on, Enrolment.activated_on, Enrolment.start_month)
    # A month has at least 28 days: a cheap bound in SQL, the exact date below.
    near = sa.or_(
        *(
            sa.and_(
                Enrolment.program_id == program_id,
                base <= limit - timedelta(days=28 * p.interval_months - 3),
            )
            for program_id, p in policies.items()
        )
    )
    stmt = (
        sa.select(
            Enrolment.id,
            Enrolment.program_id,
            Enrolment.status,
            Enrolment.suspend_reason,
            Enrolment.activated_on,
            Enrolment.start_month,
            last.c.last_on,
            Program.name.label("program"),
            Region.code,
            Region.name.label("area"),
            Person.name.label("person"),
        )
        .join(Program, Program.id == Enrolment.program_id)
        .join(Region, Region.id == Enrolment.region_id)
        .join(Person, Person.id == Enrolment.person_id)
        .outerjoin(last, last.c.enrolment_id == Enrolment.id)
        .where(
            Enrolment.status.in_(CHECKED_STATUSES),
            Person.death_date.is_(None),
            Person.moved_out_on.is_(None),
            near,
        )
    )
    if user is not None:
        stmt = stmt.where(scope_clause(Enrolment, user))
    out = []
    for row in db.session.execute(stmt):
        policy = policies[row.program_id]
        due = due_on(
            base_of(policy, row.last_on, row.activated_on, row.start_month),
            policy.interval_months,
        )
        if due > limit:
            continue
        out.append(
            DueCheck(
                enrolment_id=row.id,
                program_id=row.program_id,
                program=row.program,
                region_code=row.code,
                area=row.area,
                name=mask_name(row.person),
                last_checked_on=row.last_on,
                due_on=due,
                grace_ends_on=due + timedelta(days=policy.grace_days),
                days_overdue=max((today - due).days, 0),
                active=row.status == EnrolmentStatus.ACTIVE.value,
                suspended_for_check=row.status == EnrolmentStatus.SUSPENDED.value
                and row.suspend_reason == SuspendReason.EXISTENCE_CHECK.value,
            )
        )
    out.sort(key=lambda c: (c.due_on, c.enrolment_id))
    return out


def person_programs(user) -> list[tuple[Program, ExistencePolicy | None]]:
    """The person programs the user sees, each with its setting (None: never set)."""
    programs = list(
        db.session.scalars(
            visible(Program, user)
            .where(Program.kind.in_([k.value for k in PERSON_KINDS]))
            .order_by(Program.region_id, Program.code)
        )
    )
    settings = {
        p.program_id: p
        for p in db.session.scalars(
            sa.select(ExistencePolicy).where(
                ExistencePolicy.program_id.in_([p.id for p in programs])
            )
        )
    }
    return [(program, settings.get(program.id)) for program in programs]


def checks_of(enrolment: Enrolment) -> list[ExistenceCheck]:
    return list(
        db.session.scalars(
            sa.select(ExistenceCheck)
            .where(ExistenceCheck.enrolment_id == enrolment.id)
            .options(
                selectinload(ExistenceCheck.recorded_by),
                selectinload(ExistenceCheck.facility),
            )
            .order_by(ExistenceCheck.checked_on.desc(), ExistenceCheck.id.desc())
        )
    )
