"""Which visitors visit a person: the visitors a plan may be given, assigning and removing
them."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.auth.models import User
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.visits.models import CareAssignment, CareTarget
from eldercare.visits.operations.common import (
    audit_plan,
    is_assigned,
    require_manager,
    still_visited,
)


def assignable_visitors(target: CareTarget, by) -> list[User]:
    """Active visitor accounts of the person's county inside the acting user's area."""
    area = by.region if by.region is not None else target.county
    county = target.county
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Region, Region.id == User.region_id)
            .where(
                User.role == Role.VISITOR.value,
                User.active.is_(True),
                Region.code.startswith(area.prefix, autoescape=True),
                Region.code.startswith(county.prefix, autoescape=True),
            )
            .order_by(User.display_name, User.id)
        )
    )


def visitor_by_id(user_id: int) -> User:
    """The visitor account a form names (any other account is refused as not a visitor)."""
    user = db.session.get(User, user_id)
    if user is None or user.role != Role.VISITOR.value:
        raise Invalid(errors={"visitor_id": [_("Choose a visitor of this area.")]})
    return user


def assign(target: CareTarget, visitor: User, by) -> CareAssignment:
    require_manager(by, target)
    still_visited(target)
    if visitor.id not in {v.id for v in assignable_visitors(target, by)}:
        raise Invalid(errors={"visitor_id": [_l("Choose a visitor of this area.")]})
    if is_assigned(visitor, target):
        raise Conflict(_l("This visitor is already assigned."))
    assignment = CareAssignment(target=target, visitor_id=visitor.id, assigned_by_id=by.id)
    db.session.add(assignment)
    db.session.flush()
    audit_plan(
        "care_target.visitor_assigned",
        target,
        by,
        changes={"visitor": [None, visitor.username]},
    )
    return assignment


def unassign(target: CareTarget, visitor: User, by) -> None:
    require_manager(by, target)
    assignment = next((a for a in target.assignments if a.visitor_id == visitor.id), None)
    if assignment is None:
        raise Conflict(_l("This visitor is not assigned."))
    target.assignments.remove(assignment)
    db.session.flush()
    audit_plan(
        "care_target.visitor_unassigned",
        target,
        by,
        changes={"visitor": [visitor.username, None]},
    )


def visitors_in_area(user) -> list[User]:
    """Active visitor accounts inside the user's area (all of them for admins)."""
    stmt = sa.select(User).where(User.role == Role.VISITOR.value, User.active.is_(True))
    if user.region is not None:
        stmt = stmt.join(Region, Region.id == User.region_id).where(
            Region.code.startswith(user.region.prefix, autoescape=True)
        )
    elif role_of(user) != Role.ADMIN:
        return []
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id).limit(500)))
