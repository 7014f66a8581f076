"""A center's members: joining, the membership's details, leaving, and the people an
operator may name at the center."""

from __future__ import annotations

import hashlib
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from eldercare.core import audit
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.masking import mask_phone
from eldercare.core.permissions import is_visible
from eldercare.daycare.models import Attendance, Member
from eldercare.daycare.operations.common import audit_center, require_operator, runs_daycare
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.facilities.operations import require_operating
from eldercare.people.models import Person


def current_member(facility_id: int, person_id: int) -> Member | None:
    return db.session.scalar(
        sa.select(Member).where(
            Member.facility_id == facility_id,
            Member.person_id == person_id,
            Member.left_on.is_(None),
        )
    )


def member_on(facility_id: int, person_id: int, day: date) -> Member | None:
    """The membership that covers a day (joined on or before it, not left before it)."""
    return db.session.scalar(
        sa.select(Member).where(
            Member.facility_id == facility_id,
            Member.person_id == person_id,
            Member.joined_on <= day,
            sa.or_(Member.left_on.is_(None), Member.left_on >= day),
        )
    )


MEMBER_FIELDS = (
    "days",
    "transport",
    "subsidised_meals",
    "dietary_notes",
    "emergency_contact",
    "emergency_phone",
)


def _member_snapshot(member: Member) -> dict:
    """Audit view of a membership: the phone masked, the dietary notes (health data) only as
    a fingerprint that changes when they do."""
    notes = member.dietary_notes or ""
    return {
        "days": ",".join(str(d) for d in sorted(member.days or [])),
        "transport": member.transport,
        "subsidised_meals": member.subsidised_meals,
        "emergency_contact": member.emergency_contact,
        "emergency_phone": mask_phone(member.emergency_phone),
        "dietary_notes": hashlib.sha256(notes.encode()).hexdigest()[:8] if notes else "",
        "left_on": member.left_on,
    }


def add_member(facility: Facility, person: Person, data: dict, by) -> Member:
    """Enrol a registered person as a member of the center from ``joined_on``."""
    require_operator(by, facility.id)
    if not runs_daycare(facility):
        raise Conflict(_l("This facility does not run day care."))
    if person.death_date is not None:
        raise Conflict(_l("This person has died."))
    if person.moved_out_on is not None:  # the county serves them no longer
        raise Conflict(_l("This person has moved out of the county."))
    if current_member(facility.id, person.id) is not None:
        raise Conflict(_l("This person is already a member."))
    require_operating(facility.id)
    member = Member(
        facility_id=facility.id,
        person_id=person.id,
        person=person,
        joined_on=data["joined_on"],
        **{k: data.get(k) for k in MEMBER_FIELDS if k in data},
    )
    db.session.add(member)
    db.session.flush()
    audit_center(
        "daycare.member_added",
        member,
        by,
        facility.id,
        changes=audit.changes_between({}, _member_snapshot(member)),
    )
    return member


def update_member(member: Member, data: dict, by) -> Member:
    require_operator(by, member.facility_id)
    before = _member_snapshot(member)
    for key in MEMBER_FIELDS:
        if key in data:
            setattr(member, key, data[key])
    db.session.flush()
    audit_center(
        "daycare.member_updated",
        member,
        by,
        member.facility_id,
        changes=audit.changes_between(before, _member_snapshot(member)),
    )
    return member


def end_membership(member: Member, on: date, by) -> Member:
    require_operator(by, member.facility_id)
    if member.left_on is not None:
        raise Conflict(_l("This person has already left."))
    if on < member.joined_on:
        raise Invalid(errors={"left_on": [_l("The date is before the person joined.")]})
    member.left_on = on
    db.session.flush()
    audit_center(
        "daycare.member_left",
        member,
        by,
        member.facility_id,
        changes={"left_on": [None, on]},
    )
    return member


def members_of(facility: Facility, include_left: bool = False) -> list[Member]:
    stmt = (
        sa.select(Member)
        .join(Person, Person.id == Member.person_id)
        .where(Member.facility_id == facility.id)
        .options(joinedload(Member.person))
        .order_by(Member.left_on.is_not(None), Person.name, Member.id)
    )
    if not include_left:
        stmt = stmt.where(Member.left_on.is_(None))
    return list(db.session.scalars(stmt))


def person_for(facility: Facility, person_id: int, user, field: str = "person_id") -> Person:
    """A person the operator may name here: a current member (or resident), or someone who
    has been checked in at this center (a walk-in); any other is not found (on ``field``)."""
    person = db.session.get(Person, person_id)
    if person is None or not (
        is_visible(person, user)
        or db.session.scalar(
            sa.select(Attendance.id).where(
                Attendance.facility_id == facility.id, Attendance.person_id == person_id
            )
        )
    ):
        raise Invalid(errors={field: [_("The page or record was not found.")]})
    return person


def reloaded(record):
    """The record as the database holds it now (after a refused action rolled back)."""
    db.session.refresh(record)
    return record
