"""What the ratings pages load besides the record in their address: lists in the user's
scope, and the records a form names by id (the operation it goes to checks them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.auth.models import User
from eldercare.core.permissions import visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings.models import Application, Item, Objection, Round, Scheme, Section
from eldercare.regions.models import Region


def rounds_for(user) -> list[Round]:
    """The rounds ``user`` may see, newest first."""
    return list(
        db.session.scalars(visible(Round, user).order_by(Round.year.desc(), Round.id.desc()))
    )


def applications_in(rnd: Round, user) -> list[Application]:
    """The applications of the round that ``user`` may see, in the order they joined."""
    return list(
        db.session.scalars(
            visible(Application, user)
            .where(Application.round_id == rnd.id)
            .options(selectinload(Application.facility), selectinload(Application.assessors))
            .order_by(Application.id)
        )
    )


def objections_of(application: Application) -> list[Objection]:
    """The objections to the application's result, in the order they came in."""
    return list(
        db.session.scalars(
            sa.select(Objection)
            .where(Objection.application_id == application.id)
            .order_by(Objection.id)
        )
    )


def item_of(scheme: Scheme, item_id: int) -> Item | None:
    """The item of ``scheme`` with this id; None for none, or an item of another scheme."""
    return db.session.scalar(
        sa.select(Item)
        .join(Section, Section.id == Item.section_id)
        .where(Item.id == item_id, Section.scheme_id == scheme.id)
    )


def county_by_id(region_id: int | None) -> Region | None:
    """The county with this id; None for no id, no region, or a region that is no county."""
    region = db.session.get(Region, region_id) if region_id else None
    return region if region is not None and region.level == "county" else None


def facility_by_id(facility_id: int) -> Facility | None:
    return db.session.get(Facility, facility_id)


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)
