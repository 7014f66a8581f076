"""Areas: the county a region lies in, and which regions a user's pages may be about (their
own area, or one inside it). The one home of these rules; features ask here."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db
from eldercare.regions.models import Level, Region

AREA_LEVELS = (Level.PROVINCE.value, Level.CITY.value, Level.COUNTY.value, Level.TOWNSHIP.value)


def region_choices(user) -> list[Region]:
    """Regions whose indicators ``user`` may open: inside their own area (admins: all)."""
    stmt = sa.select(Region).where(Region.level.in_(AREA_LEVELS), Region.abolished_on.is_(None))
    if role_of(user) != Role.ADMIN:
        if user.region is None:
            return []
        stmt = stmt.where(Region.code.startswith(user.region.prefix, autoescape=True))
    return list(db.session.scalars(stmt.order_by(Region.code)))


def default_region(user) -> Region | None:
    """Staff: their own county or township. Admins: the first city (else any top region)."""
    if role_of(user) != Role.ADMIN:
        return user.region
    return db.session.scalar(
        sa.select(Region)
        .where(Region.level.in_(AREA_LEVELS), Region.abolished_on.is_(None))
        .order_by(sa.case((Region.level == Level.CITY.value, 0), else_=1), Region.code)
        .limit(1)
    )


def region_in_scope(user, region_id: int) -> Region | None:
    """The region if ``user`` may see its indicators; None when missing or outside."""
    region = db.session.get(Region, region_id)
    if region is None or region.level not in AREA_LEVELS:
        return None
    if role_of(user) == Role.ADMIN:
        return region
    if user.region is None or not user.region.contains(region):
        return None
    return region


def county_choices(user) -> list[Region]:
    """Counties whose settings ``user`` may open."""
    return [r for r in region_choices(user) if r.level == Level.COUNTY.value]
