"""Who may do what to a visit plan, shared by every operation of the plans and by the pages
that offer the actions (one rule for both), and the plan's lock and audit entry."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.errors import AppError, Conflict
from eldercare.core.permissions import Role, is_visible, role_of
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.visits.models import CareTarget

#: Roles that manage care targets (enrol, assign, override, end) inside their area.
MANAGERS = frozenset({Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF})


def can_manage(user, target: CareTarget | None = None) -> bool:
    if role_of(user) not in MANAGERS:
        return False
    return target is None or is_visible(target, user)


def require_manager(user, target: CareTarget | None = None) -> None:
    if not can_manage(user, target):
        raise AppError(403, _l("You do not have permission to do this."))


def still_visited(target: CareTarget) -> None:
    """Nothing more is recorded in an ended plan: say when it ended and what to do."""
    if not target.active:
        raise Conflict(
            _l(
                "Regular visits of this person ended on %(date)s, so this plan takes no more "
                "changes, visits or events. If the person is to be visited again, township or "
                "county staff enrol them again from their page in the registry.",
                date=target.ended_on,
            )
        )


def is_assigned(user, target: CareTarget) -> bool:
    return any(a.visitor_id == user.id for a in target.assignments)


def can_record(user, target: CareTarget) -> bool:
    """The assigned visitors, and staff of the area (who also make phone visits)."""
    role = role_of(user)
    if role == Role.VISITOR:
        return is_assigned(user, target)
    return role in MANAGERS and is_visible(target, user)


def can_set_policy(user, county: Region | None = None) -> bool:
    """Admins set every county's visit rules, county staff their own county's (``county``
    left out: whether the user sets any county's rules at all)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role != Role.COUNTY_STAFF:
        return False
    return county is None or (user.region is not None and user.region.contains(county))


def allowed_actions(user) -> set[str]:
    """The area pages the visit pages offer a user: "coverage" (the area's visit coverage)
    and "policy" (the county's visit rules)."""
    actions = set()
    if can_manage(user):
        actions.add("coverage")
    if can_set_policy(user):
        actions.add("policy")
    return actions


def audit_plan(action: str, target: CareTarget, by, **entry) -> None:
    """An audit entry about a plan, filed under the person's area."""
    audit.record(action, target, actor=by, region_id=target.person.region_id, **entry)


def snapshot(target: CareTarget) -> dict:
    return {
        "tier": target.tier,
        "computed_tier": target.computed_tier,
        "override_tier": target.override_tier,
        "categories": ",".join(target.categories or []),
        "active": target.active,
        "next_due_on": target.next_due_on,
    }


def lock_target(target_id: int) -> CareTarget:
    """Serialise changes to one target's visit plan (two visitors recording at once)."""
    target = db.session.scalar(
        sa.select(CareTarget).where(CareTarget.id == target_id).with_for_update()
    )
    if target is None:
        raise AppError(404)
    return target
