"""Figures for the home page of each role, always within the user's scope."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eldercare.auth.models import User
from eldercare.core import resident_id
from eldercare.core.db import local_today
from eldercare.core.permissions import ROLE_LABELS, STAFF_ROLES, Role, role_of, scope_clause
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import FamilyLink, LinkStatus, Person
from eldercare.regions.models import Region


def _count(model, user, *where) -> int:
    stmt = sa.select(sa.func.count()).select_from(model).where(scope_clause(model, user), *where)
    return db.session.scalar(stmt) or 0


def people_by_subregion(user) -> list[tuple[Region, int]]:
    """Living registered people per child region of the user's region (one grouped count:
    the children of a region are all of the next level, so a code prefix of one width names
    the child a person lives under)."""
    region = user.region
    if region is None:
        return []
    children = region.children
    if not children:
        return []
    width = len(children[0].prefix)
    prefix = sa.func.substr(Region.code, 1, width)
    counts = dict(
        db.session.execute(
            sa.select(prefix, sa.func.count(Person.id))
            .join(Region, Region.id == Person.region_id)
            .where(
                scope_clause(Person, user),
                Region.code.startswith(region.prefix, autoescape=True),
                Person.death_date.is_(None),
            )
            .group_by(prefix)
        ).all()
    )
    return [(child, int(counts.get(child.prefix, 0))) for child in children]


def summary_for(user) -> dict:
    role = role_of(user)
    today = local_today()
    out: dict = {"role": role}
    if role == Role.ADMIN or role in STAFF_ROLES:
        cutoff_80 = resident_id.years_before(today, 80)
        out["people"] = _count(Person, user, Person.death_date.is_(None))
        out["people_80"] = _count(
            Person, user, Person.death_date.is_(None), Person.birth_date <= cutoff_80
        )
        out["living_alone"] = _count(
            Person, user, Person.death_date.is_(None), Person.lives_alone.is_(True)
        )
        out["facilities"] = _count(Facility, user, Facility.active.is_(True))
        out["pending_links"] = _count(
            FamilyLink, user, FamilyLink.status == LinkStatus.PENDING.value
        )
        out["by_region"] = people_by_subregion(user) if role in STAFF_ROLES else []
    if role == Role.ADMIN:
        out["users"] = [
            (ROLE_LABELS.get(role, role), n)
            for role, n in db.session.execute(
                sa.select(User.role, sa.func.count()).group_by(User.role).order_by(User.role)
            )
        ]
    if role == Role.VISITOR or role in STAFF_ROLES:
        out["visits"] = _visits_today(user)
    if role == Role.OPERATOR:
        out["facility"] = user.facility
    if role == Role.ASSESSOR:
        out["assignments"] = _open_assignments(user)
    if role == Role.FAMILY:
        out["links"] = db.session.scalars(
            sa.select(FamilyLink)
            .where(scope_clause(FamilyLink, user))
            .options(joinedload(FamilyLink.person))
            .order_by(FamilyLink.id)
        ).all()
    return out


def _visits_today(user) -> dict:
    """How many of the user's people are overdue, due soon, visited today."""
    from eldercare.visits.models import CareTarget
    from eldercare.visits.operations import due_list

    lists = due_list(user)
    return {
        "people": _count(CareTarget, user, CareTarget.active.is_(True)),
        "overdue": len(lists.overdue),
        "due": len(lists.due),
        "done": len(lists.done),
    }


def _open_assignments(user) -> int:
    """Rating applications the user is appointed to that the committee has not decided yet
    (a withdrawn one is not work any more)."""
    from eldercare.ratings.models import UNDECIDED, Application

    return _count(Application, user, Application.status.in_([s.value for s in UNDECIDED]))


def remember_locale(user, code: str) -> None:
    """Keep the interface language ``code`` on a signed-in account (a no-op if it is kept)."""
    if user.is_authenticated and user.locale != code:
        user.locale = code


def database_answers() -> bool:
    """The health check's question to the database (it raises if the database is away)."""
    db.session.execute(sa.text("SELECT 1"))
    return True
