"""Roles and the one place where record scope is enforced; everything fails closed.

A model that can be listed or opened by a user defines ``__scope__(cls, user)``, which
returns a SQL condition selecting the rows that user may see, or ``None`` for nothing.
Views and operations never filter by hand: they go through ``visible`` and
``get_visible_or_404``. A model without ``__scope__``, an anonymous or inactive user and an
unknown role all see nothing.
"""

from __future__ import annotations

from enum import StrEnum
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user


class Role(StrEnum):
    ADMIN = "admin"
    COUNTY_STAFF = "county_staff"
    TOWNSHIP_STAFF = "township_staff"
    VISITOR = "visitor"
    OPERATOR = "operator"
    FAMILY = "family"
    #: An external (third-party) rating assessor bound to a county: sees only the rating
    #: applications it is appointed to, nothing else.
    ASSESSOR = "assessor"


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.COUNTY_STAFF: _l("County staff"),
    Role.TOWNSHIP_STAFF: _l("Township staff"),
    Role.VISITOR: _l("Visitor"),
    Role.OPERATOR: _l("Facility operator"),
    Role.FAMILY: _l("Family member"),
    Role.ASSESSOR: _l("External assessor"),
}

#: Roles whose account is bound to a region. Not a grant of what they see there: an external
#: assessor bound to a county sees only what it is appointed to.
REGION_ROLES = frozenset({Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.VISITOR, Role.ASSESSOR})
#: Roles whose scope is one facility.
FACILITY_ROLES = frozenset({Role.OPERATOR})
#: Civil-affairs staff who work on the registry of their region (never external assessors).
STAFF_ROLES = frozenset({Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF})


def role_of(user) -> Role | None:
    """The user's role if the user may act at all, else None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "is_active", False):
        return None
    try:
        return Role(user.role)
    except ValueError:
        return None


# --- named write policies: who may change what (the one definition of each) -----------------


def operates(user, facility) -> bool:
    """Administrators, and the operators of this facility (a facility or its id): they keep its
    beds, day care, services and bookings."""
    facility_id = facility if isinstance(facility, int) or facility is None else facility.id
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return role == Role.OPERATOR and facility_id is not None and user.facility_id == facility_id


def is_county_staff_of(user, region) -> bool:
    """Administrators, and county staff whose area holds ``region`` (a county, or a place in
    it)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    return (
        role == Role.COUNTY_STAFF
        and region is not None
        and user.region is not None
        and user.region.contains(region)
    )


def is_township_staff_of(user, region) -> bool:
    """Township staff whose township holds ``region``."""
    return (
        role_of(user) == Role.TOWNSHIP_STAFF
        and region is not None
        and user.region is not None
        and user.region.contains(region)
    )


def is_local_staff_of(user, region) -> bool:
    """County staff (or administrators) of the county, or township staff of the township, that
    holds ``region``."""
    return is_county_staff_of(user, region) or is_township_staff_of(user, region)


def scope_clause(model, user) -> sa.ColumnElement[bool]:
    """SQL condition for the rows of ``model`` that ``user`` may see."""
    scope = getattr(model, "__scope__", None)
    if scope is None:
        raise TypeError(f"{model.__name__} has no __scope__: it cannot be shown to users")
    if role_of(user) is None:
        return sa.false()
    clause = scope(user)
    return sa.false() if clause is None else clause


def visible(model, user) -> sa.Select:
    """``SELECT model`` limited to what ``user`` may see."""
    return sa.select(model).where(scope_clause(model, user))


def get_visible_or_404(model, ident, user=None):
    """Load one record; missing and out-of-scope are the same 404."""
    from eldercare.core.db import MAX_ID
    from eldercare.extensions import db

    user = current_user if user is None else user
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident <= MAX_ID:
        abort(404)
    row = db.session.scalar(visible(model, user).where(model.id == ident))
    if row is None:
        abort(404)
    return row


def is_visible(record, user) -> bool:
    """Whether ``user`` may see an already-loaded ``record`` (asked of the database)."""
    from eldercare.extensions import db

    model = type(record)
    stmt = (
        sa.select(sa.literal(1))
        .select_from(model)
        .where(model.id == record.id, scope_clause(model, user))
    )
    return db.session.scalar(stmt) is not None


def roles_required(*roles: Role):
    """Only these roles may call the view: anonymous users are sent to log in, others 403."""
    allowed = frozenset(Role(r) for r in roles)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from eldercare.extensions import login_manager

                return login_manager.unauthorized()
            if role_of(current_user) not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = allowed
        return wrapper

    return decorator
