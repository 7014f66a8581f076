"""A member who died or moved out of the county: each current membership ends on the date
of the event. One operation for the registry's life event (``daycare.events``) and for the
nightly repair sweep (``daycare.tasks.repair_departed``)."""

from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core.errors import AppError, Conflict
from eldercare.daycare.models import Member
from eldercare.daycare.operations.common import audit_center
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import LifeEventKind, Person
from eldercare.people.signals import Effect

log = logging.getLogger(__name__)

#: The audit note of what the repair sweep ended (the event should have done it).
REPAIR_NOTE = "repair"


def departure(person: Person) -> tuple[str, date] | None:
    """Why and since when the person attends no center: (kind, date), or None."""
    if person.death_date is not None:
        return LifeEventKind.DEATH.value, person.death_date
    if person.moved_out_on is not None:
        return LifeEventKind.MOVED_OUT.value, person.moved_out_on
    return None


def end_for_departure(
    person: Person, on: date, kind: str, by, *, repair: bool = False
) -> list[Member]:
    """End every current membership of the person on ``on`` (the date of death or of the
    move), audited; the memberships ended, none when called again. A membership that began
    after that date is refused (Conflict): the date, or the membership, is wrong."""
    members = list(
        db.session.scalars(
            sa.select(Member)
            .where(Member.person_id == person.id, Member.left_on.is_(None))
            .order_by(Member.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    field = "death_date" if kind == LifeEventKind.DEATH.value else "moved_out_on"
    for member in members:
        if on < member.joined_on:
            raise Conflict(
                errors={
                    field: [
                        _l(
                            "%(day)s is before %(name)s joined the day care of %(center)s on "
                            "%(joined)s. Check the date; if it is right, the center must "
                            "correct the membership first.",
                            day=on.isoformat(),
                            name=person.name,
                            center=_center_name(member),
                            joined=member.joined_on.isoformat(),
                        )
                    ]
                }
            )
        member.left_on = on
        db.session.flush()
        audit_center(
            "daycare.member_left",
            member,
            by,
            member.facility_id,
            changes={"left_on": [None, on]},
            note=REPAIR_NOTE if repair else kind,
        )
    return members


def _center_name(member: Member) -> str:
    return db.session.get(Facility, member.facility_id).name


def departure_effects(members: list[Member]) -> list[Effect]:
    """What the recorder is shown and the relatives are told, one line a center."""
    return [
        Effect(
            "daycare",
            _l(
                "Day-care membership at %(center)s ended on %(day)s.",
                center=_center_name(member),
                day=member.left_on.isoformat(),
            ),
            family=_l(
                "The day-care membership at %(center)s has ended.", center=_center_name(member)
            ),
        )
        for member in members
    ]


# --- the repair sweep ------------------------------------------------------------------------


def departed_members() -> list[Person]:
    """The dead and the moved out who are still members somewhere: what the sweep finds."""
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(
                sa.or_(Person.death_date.is_not(None), Person.moved_out_on.is_not(None)),
                sa.exists().where(Member.person_id == Person.id, Member.left_on.is_(None)),
            )
            .order_by(Person.id)
        )
    )


def repair_departed() -> int:
    """End what a death or a move left open, by the same operation as the event's, each
    person in a savepoint (a refused date is logged, the others still repaired). The number
    of memberships ended."""
    count = 0
    for person in departed_members():
        kind, on = departure(person)
        try:
            with db.session.begin_nested():
                count += len(end_for_departure(person, on, kind, None, repair=True))
        except AppError as err:
            log.warning("daycare: the departure of person %s was not applied: %s", person.id, err)
    return count
