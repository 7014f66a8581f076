"""Who sees which subsidy rows: the scope filters of the models (core.permissions.scope_clause)."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.regions.models import Region


def county_scope(column, user):
    """Admins see everything; county staff their county; township staff their township."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role in STAFF_ROLES and user.region is not None:
        return column.in_(Region.subtree_ids(user.region))
    return None


def county_staff_only(column, user):
    """Batches and payments: admins, and county staff of their county (not townships)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role == Role.COUNTY_STAFF and user.region is not None:
        return column.in_(Region.subtree_ids(user.region))
    return None


def county_of_region(column, user):
    """Rows bound to a county: staff of that county, township staff included."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role in STAFF_ROLES and user.region is not None:
        return column.in_(sa.select(Region.id).where(Region.code.startswith(user.region.code[:6])))
    return None
