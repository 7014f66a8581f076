"""Registry operations: register, correct, assess, reveal, family links."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from eldercare.core import audit, resident_id
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.masking import mask_phone
from eldercare.core.permissions import STAFF_ROLES, Role, role_of, visible
from eldercare.extensions import db
from eldercare.notifications.operations import notify_many
from eldercare.people import life_events, notices, signals
from eldercare.people.family import family_view as family_view
from eldercare.people.models import (
    LINK_DECISIONS,
    AbilityAssessment,
    FamilyLink,
    LinkStatus,
    Person,
    id_number_index,
)
from eldercare.regions.models import Region

EDITABLE = (
    "name",
    "phone",
    "address",
    "region_id",
    "hukou_type",
    "hukou_address",
    "lives_alone",
    "empty_nest",
    "left_behind",
    "special_family",
    "economic_status",
)
#: In the audit view beside EDITABLE, written only through ``people.life_events``.
LIFE_FIELDS = ("death_date", "moved_out_on")
DUPLICATE_MESSAGE = _l(
    "This ID number is already registered, possibly in another area. If the person has "
    "moved here, ask the county civil-affairs bureau to transfer the record."
)
#: Roles that may see a full ID number (each time with an audit entry).
REVEAL_ROLES = frozenset({Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF})


def can_register(user) -> bool:
    return role_of(user) in STAFF_ROLES or role_of(user) == Role.ADMIN


def home_region_in_scope(region_id: int, user) -> Region:
    """A person lives in a township or village inside the acting user's region."""
    region = db.session.get(Region, region_id)
    if region is None or region.level not in ("township", "village"):
        raise Invalid(errors={"region_id": [_l("Choose a township or a village.")]})
    if user.region is not None and not user.region.contains(region):
        raise Invalid(errors={"region_id": [_l("This place is outside your area.")]})
    return region


def snapshot(person: Person) -> dict:
    """Audit view of a person: identifiers masked, no health data."""
    data = {k: getattr(person, k) for k in (*EDITABLE, *LIFE_FIELDS)}
    data["phone"] = mask_phone(person.phone)
    data["id_number"] = person.id_number_masked
    return data


def find_by_id_number(number: str) -> Person | None:
    """Exact lookup through the blind index (no scope: callers decide what to reveal)."""
    return db.session.scalar(
        sa.select(Person).where(Person.id_number_index == id_number_index(number))
    )


def _ensure_not_registered(number: str, by, exclude_id: int | None = None) -> None:
    """One registry entry per ID number, across all counties (a person enrolled twice is
    how double payments start). The refusal cannot help revealing that the number exists
    somewhere, so it says no more than that, and every such refusal is audited."""
    stmt = sa.select(Person.id).where(Person.id_number_index == id_number_index(number))
    if exclude_id is not None:
        stmt = stmt.where(Person.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(
            errors={"id_number": [DUPLICATE_MESSAGE]},
            audit={
                "action": "person.duplicate_refused",
                "actor": by,
                "region_id": getattr(by, "region_id", None),
                "changes": {"id_number": [None, resident_id.mask(resident_id.normalise(number))]},
            },
        )


def register_person(data: dict, by) -> Person:
    home_region_in_scope(data["region_id"], by)
    _ensure_not_registered(data["id_number"], by)
    person = Person()
    person.set_id_number(data["id_number"])
    for key in EDITABLE:
        if key in data:
            setattr(person, key, data[key])
    db.session.add(person)
    db.session.flush()
    audit.record(
        "person.registered", person, actor=by, changes=audit.changes_between({}, snapshot(person))
    )
    return person


def update_person(person: Person, data: dict, by) -> Person:
    before = snapshot(person)
    home_region_in_scope(data["region_id"], by)
    number = data.get("id_number")
    replace_number = bool(number) and id_number_index(number) != person.id_number_index
    if replace_number:
        _ensure_not_registered(number, by, exclude_id=person.id)
    # Without a new ID number the schema cannot see the stored birth date: check it here,
    # before anything changes (the database constraint would only give a 409).
    born = resident_id.parse(number).birth_date if replace_number else person.birth_date
    death = data.get("death_date")
    if death is not None and death < born:
        raise Invalid(errors={"death_date": [_l("The death date is before the birth date.")]})
    if "death_date" in data and death is None and person.death_date is not None:
        raise Conflict(
            errors={
                "death_date": [
                    _l(
                        "A recorded death is not removed here: the county civil-affairs "
                        "bureau corrects it."
                    )
                ]
            }
        )
    status_before = person.economic_status
    if replace_number:
        person.set_id_number(number)
    for key in EDITABLE:
        if key in data:
            setattr(person, key, data[key])
    db.session.flush()
    changes = audit.changes_between(before, snapshot(person))
    if replace_number:
        # Two masked numbers can look alike; the correction itself must always show.
        changes["id_number"] = [before["id_number"], person.id_number_masked]
    audit.record("person.updated", person, actor=by, changes=changes)
    signals.person_changed.send(person, by=by, changes=changes)
    # The life events last, each its one writer, so that every feature sees the person as
    # corrected above.
    life_events.status_changed(person, status_before, by)
    if death is not None:
        life_events.record_death(person, death, by)
    return person


def reveal_id_number(person: Person, by) -> str:
    """The full ID number, for staff only, with an audit entry every time."""
    if role_of(by) not in REVEAL_ROLES:
        raise AppError(403)
    audit.record("person.id_revealed", person, actor=by)
    return person.id_number


def add_assessment(person: Person, data: dict, by) -> AbilityAssessment:
    if data["assessed_on"] < person.birth_date:
        raise Invalid(errors={"assessed_on": [_l("The assessment date is before the birth date.")]})
    current = person.current_ability
    level_before = current.level if current is not None else None
    assessment = AbilityAssessment(person=person, recorded_by_id=by.id, **data)
    db.session.add(assessment)
    db.session.flush()
    changes = {
        "ability_level": [None, assessment.level],
        "assessed_on": [None, assessment.assessed_on],
    }
    audit.record("person.assessed", person, actor=by, changes=changes)
    db.session.flush()
    signals.person_changed.send(person, by=by, changes=changes)
    db.session.refresh(person, ["assessments"])
    if person.current_ability is assessment:  # an older assessment entered late changes nothing
        life_events.ability_changed(
            person, level_before, assessment.level, assessment.assessed_on, by
        )
    return assessment


def search_people(user, args: dict) -> sa.Select:
    stmt = visible(Person, user)
    if args.get("q"):
        stmt = stmt.where(Person.name.contains(args["q"], autoescape=True))
    if args.get("region_id"):
        region = db.session.get(Region, args["region_id"])
        stmt = stmt.where(
            Person.region_id.in_(Region.subtree_ids(region)) if region else sa.false()
        )
    if args.get("flag"):
        stmt = stmt.where(getattr(Person, args["flag"]).is_(True))
    if args.get("economic_status"):
        stmt = stmt.where(Person.economic_status == args["economic_status"])
    today = local_today()
    if args.get("min_age") is not None:
        stmt = stmt.where(Person.birth_date <= resident_id.years_before(today, args["min_age"]))
    if args.get("max_age") is not None:
        stmt = stmt.where(Person.birth_date > resident_id.years_before(today, args["max_age"] + 1))
    if not args.get("include_deceased"):
        stmt = stmt.where(Person.death_date.is_(None), Person.moved_out_on.is_(None))
    return stmt.order_by(Person.region_id, Person.name, Person.id)


# --- family links ------------------------------------------------------------------------


def request_link(user, name: str, number: str, relation: str) -> FamilyLink:
    """A family account asks to be linked; the name must match too, so IDs cannot be probed."""
    person = find_by_id_number(number)
    if person is None or person.name != name.strip():
        raise Invalid(
            _l(
                "No registered person matches this name and ID number. "
                "Please check them, or contact the township office."
            )
        )
    existing = db.session.scalar(
        sa.select(FamilyLink).where(
            FamilyLink.user_id == user.id, FamilyLink.person_id == person.id
        )
    )
    if existing is not None and existing.status in (
        LinkStatus.PENDING.value,
        LinkStatus.VERIFIED.value,
    ):
        raise Conflict(_l("You have already asked to link this relative."))
    if existing is None:
        existing = FamilyLink(user_id=user.id, person_id=person.id)
        db.session.add(existing)
    existing.relation = relation
    existing.status = LinkStatus.PENDING.value
    existing.decided_by_id = None
    existing.decided_at = None
    existing.decision_note = ""
    db.session.flush()
    entry = audit.record(
        "family_link.requested", existing, actor=user, region_id=person.region_id, note=relation
    )
    db.session.flush()
    notify_many(notices.waiting(existing, entry.id))
    return existing


def decide_link(link: FamilyLink, decision: str, note: str, by) -> FamilyLink:
    if decision not in LINK_DECISIONS.get(link.status, ()):
        raise Conflict(_l("This request has already been decided."))
    if role_of(by) == Role.OPERATOR and decision == LinkStatus.REVOKED.value:
        # A facility answers requests about the people it cares for; withdrawing a verified
        # relationship is the civil-affairs office's decision.
        raise AppError(403, _l("Only civil-affairs staff can revoke a verified link."))
    before = link.status
    link.status = decision
    link.decided_by_id = by.id
    link.decided_at = utcnow()
    link.decision_note = note
    db.session.flush()
    entry = audit.record(
        "family_link.decided",
        link,
        actor=by,
        region_id=link.person.region_id,
        changes={"status": [before, decision]},
        note=note,
    )
    db.session.flush()
    notify_many(notices.decided(link, entry.id))
    if decision == LinkStatus.REVOKED.value:
        signals.link_revoked.send(link, by=by)
    return link


def create_verified_link(user, person: Person, relation: str, by) -> FamilyLink:
    """Staff link a family account they have checked in person (demo data uses it too)."""
    link = FamilyLink(
        user_id=user.id,
        person_id=person.id,
        relation=relation,
        status=LinkStatus.VERIFIED.value,
        decided_by_id=getattr(by, "id", None),
        decided_at=utcnow(),
    )
    db.session.add(link)
    db.session.flush()
    audit.record("family_link.created", link, actor=by, region_id=person.region_id)
    return link


def home_regions(user) -> list[Region]:
    """Townships and villages in force where ``user`` may register people."""
    stmt = (
        sa.select(Region)
        .where(Region.level.in_(["township", "village"]), Region.abolished_on.is_(None))
        .order_by(Region.code)
    )
    if user.region is not None:
        stmt = stmt.where(Region.id.in_(Region.subtree_ids(user.region)))
    return list(db.session.scalars(stmt))


def family_links_of(person: Person) -> list[FamilyLink]:
    return list(
        db.session.scalars(
            sa.select(FamilyLink)
            .where(FamilyLink.person_id == person.id)
            .options(joinedload(FamilyLink.user))  # the page names each family member
            .order_by(FamilyLink.id)
        )
    )


def search_links(user, status: str) -> sa.Select:
    """The links of a status in ``user``'s scope, with the family member and the person each
    names (the list shows both)."""
    return (
        visible(FamilyLink, user)
        .where(FamilyLink.status == status)
        .options(joinedload(FamilyLink.user), joinedload(FamilyLink.person))
        .order_by(FamilyLink.created_at, FamilyLink.id)
    )


def relatives_of(user) -> list[Person]:
    """The people a family account is verified for (the scope says which)."""
    return list(db.session.scalars(visible(Person, user).order_by(Person.id)))
