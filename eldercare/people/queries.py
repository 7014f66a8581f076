"""What the registry's pages load and list, and which actions they offer on a family link."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db
from eldercare.people import operations as ops
from eldercare.people.models import LINK_DECISIONS, LifeEvent, LinkStatus, Person
from eldercare.regions.models import Region

#: Who opens a person's registry page from a list of links (people.show's staff roles).
OPENS_PEOPLE = frozenset({Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF})


def person_list(user, args: dict) -> sa.Select:
    """The registry list page's query: ``search_people`` with each person's area."""
    return ops.search_people(user, args).options(selectinload(Person.region))


def region_named(region_id: int | None) -> Region | None:
    """The area a filter names (None when it names none, or none that exists)."""
    return db.session.get(Region, region_id) if region_id else None


def link_actions(user, link) -> frozenset[str]:
    """What ``user`` may do with a family link on a page: "open" the person's page, and the
    decisions ``decide_link`` accepts of them ("verified", "rejected", "revoked"): a family
    member opens a verified relative; staff open anyone listed; a facility answers requests
    but does not revoke a verified link (the civil-affairs office does)."""
    role = role_of(user)
    if role == Role.FAMILY:
        return frozenset({"open"}) if link.status == LinkStatus.VERIFIED.value else frozenset()
    actions = set(LINK_DECISIONS.get(link.status, ()))
    if role == Role.OPERATOR:
        actions.discard(LinkStatus.REVOKED.value)
    if role in OPENS_PEOPLE:
        actions.add("open")
    return frozenset(actions)


def life_events_of(person: Person) -> list[LifeEvent]:
    """The person's life events, newest first, with who recorded each (the page names them)."""
    return list(
        db.session.scalars(
            sa.select(LifeEvent)
            .where(LifeEvent.person_id == person.id)
            .options(selectinload(LifeEvent.recorded_by))
            .order_by(LifeEvent.created_at.desc(), LifeEvent.id.desc())
        )
    )
