"""Registry operations: register, correct, assess, reveal, family links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
from eldercare.people import notices
from eldercare.people.models import (
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
    "death_date",
)
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
    data = {k: getattr(person, k) for k in EDITABLE}
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
    if death is not None and person.death_date is None and _lives_in_a_facility(person.id):
        raise Conflict(
            errors={
                "death_date": [
                    _l(
                        "This person lives in a care facility: the facility records the death "
                        "when it discharges them, which also frees the bed."
                    )
                ]
            }
        )
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
    _tell_visit_plan(person, by)
    return person


def _tell_visit_plan(person: Person, by) -> None:
    """A change of living situation, ability or death changes the visit tier or ends the
    visits at once (imported here: the visit feature builds on the registry)."""
    from eldercare.visits.operations import person_changed

    person_changed(person, by)


def _lives_in_a_facility(person_id: int) -> bool:
    # The beds feature's stay table, named as a plain table: the registry does not import it.
    stay = sa.table("stay", sa.column("person_id"), sa.column("discharged_on"))
    return (
        db.session.scalar(
            sa.select(sa.literal(1))
            .select_from(stay)
            .where(stay.c.person_id == person_id, stay.c.discharged_on.is_(None))
        )
        is not None
    )


def reveal_id_number(person: Person, by) -> str:
    """The full ID number, for staff only, with an audit entry every time."""
    if role_of(by) not in REVEAL_ROLES:
        raise AppError(403)
    audit.record("person.id_revealed", person, actor=by)
    return person.id_number


def add_assessment(person: Person, data: dict, by) -> AbilityAssessment:
    if data["assessed_on"] < person.birth_date:
        raise Invalid(errors={"assessed_on": [_l("The assessment date is before the birth date.")]})
    assessment = AbilityAssessment(person=person, recorded_by_id=by.id, **data)
    db.session.add(assessment)
    db.session.flush()
    audit.record(
        "person.assessed",
        person,
        actor=by,
        changes={
            "ability_level": [None, assessment.level],
            "assessed_on": [None, assessment.assessed_on],
        },
    )
    db.session.flush()
    _tell_visit_plan(person, by)
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
        stmt = stmt.where(Person.death_date.is_(None))
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
    allowed = {
        LinkStatus.PENDING.value: {LinkStatus.VERIFIED.value, LinkStatus.REJECTED.value},
        LinkStatus.VERIFIED.value: {LinkStatus.REVOKED.value},
    }
    if decision not in allowed.get(link.status, set()):
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
        # Imported here: the registry does not depend on the features built on it.
        from eldercare.bookings.operations import cancel_for_revoked_link

        cancel_for_revoked_link(link.user_id, link.person_id, by)
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


# --- what a family member sees of a verified relative -------------------------------------


@dataclass(frozen=True)
class StayLine:
    facility_name: str
    admitted_on: date
    care_type_label: str


@dataclass(frozen=True)
class VisitLine:
    visited_at: datetime
    method_label: str
    summary: str


@dataclass(frozen=True)
class PaymentLine:
    period: date
    amount_fen: int
    status_label: str


@dataclass(frozen=True)
class SubsidyLine:
    program_name: str
    status_label: str
    account_masked: str
    payments: list[PaymentLine] = field(default_factory=list)


@dataclass(frozen=True)
class BookingLine:
    booking_id: int
    starts_at: datetime
    ends_at: datetime
    service_name: str
    facility_name: str
    status: str
    status_label: str


@dataclass(frozen=True)
class FamilyView:
    """Only what a relative may know: copied out field by field, so no health data, full ID
    or account number can reach the page by accident."""

    stay: StayLine | None
    visits: list[VisitLine]
    subsidies: list[SubsidyLine]
    bookings: list[BookingLine] = field(default_factory=list)


#: How far back a family member sees visits.
FAMILY_VISIT_DAYS = 365
#: Payments shown per subsidy.
FAMILY_PAYMENTS = 6
#: Payment states a family member sees: decided by the county (a draft batch is not).
FAMILY_PAYMENT_STATES = ("approved", "exported", "paid", "failed", "returned", "reversed")


def family_view(person: Person) -> FamilyView:
    """The current stay, last year's visits, open subsidies and bookings of a verified
    relative. The caller has checked that the relative is in the family member's scope."""
    # The features that build on the registry, imported here so the registry does not
    # depend on them at import time.
    from eldercare.beds.models import Bed, Stay
    from eldercare.bookings.operations import bookings_of_person
    from eldercare.subsidies.models import OPEN_ENROLMENT, Enrolment
    from eldercare.visits.models import CareTarget, Visit

    stay = db.session.scalar(
        sa.select(Stay)
        .where(Stay.person_id == person.id, Stay.discharged_on.is_(None))
        .join(Bed, Bed.id == Stay.bed_id)
        .order_by(Stay.admitted_on.desc(), Stay.id.desc())
    )
    stay_line = (
        StayLine(stay.bed.facility.name, stay.first_admitted_on, stay.bed.care_type_label)
        if stay is not None
        else None
    )

    visits = db.session.scalars(
        sa.select(Visit)
        .join(CareTarget, CareTarget.id == Visit.target_id)
        .where(
            CareTarget.person_id == person.id,
            Visit.visited_at >= utcnow() - timedelta(days=FAMILY_VISIT_DAYS),
        )
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
    )
    visit_lines = [VisitLine(v.visited_at, v.method_label, v.summary) for v in visits]

    enrolments = db.session.scalars(
        sa.select(Enrolment)
        .where(
            Enrolment.person_id == person.id,
            Enrolment.status.in_([s.value for s in OPEN_ENROLMENT]),
        )
        .options(joinedload(Enrolment.program))
        .order_by(Enrolment.id)
    ).all()
    payments = _latest_payments([e.id for e in enrolments], FAMILY_PAYMENTS)
    subsidies = [
        SubsidyLine(
            program_name=enrolment.program.name,
            status_label=enrolment.status_label,
            account_masked=enrolment.account_masked,
            payments=[
                PaymentLine(p.period, p.amount_fen, p.status_label)
                for p in payments.get(enrolment.id, [])
            ],
        )
        for enrolment in enrolments
    ]
    bookings = [
        BookingLine(
            booking_id=b.id,
            starts_at=b.starts_at,
            ends_at=b.ends_at,
            service_name=b.service.name,
            facility_name=b.facility.name,
            status=b.status,
            status_label=b.status_label,
        )
        for b in bookings_of_person(person)
    ]
    return FamilyView(stay=stay_line, visits=visit_lines, subsidies=subsidies, bookings=bookings)


def _latest_payments(enrolment_ids: list[int], limit: int) -> dict[int, list]:
    """{enrolment id: its latest ``limit`` payments a family member sees, newest first}, for
    all the enrolments in one query (payments numbered newest first within each)."""
    from eldercare.subsidies.models import Payment, PaymentKind

    if not enrolment_ids:
        return {}
    newest_first = (Payment.period.desc(), Payment.id.desc())
    ranked = (
        sa.select(
            Payment.id,
            sa.func.row_number()
            .over(partition_by=Payment.enrolment_id, order_by=newest_first)
            .label("number"),
        )
        .where(
            Payment.enrolment_id.in_(enrolment_ids),
            Payment.kind != PaymentKind.REVERSAL.value,
            Payment.status.in_(FAMILY_PAYMENT_STATES),
        )
        .subquery()
    )
    found: dict[int, list] = {}
    for payment in db.session.scalars(
        sa.select(Payment)
        .join(ranked, ranked.c.id == Payment.id)
        .where(ranked.c.number <= limit)
        .order_by(*newest_first)
    ):
        found.setdefault(payment.enrolment_id, []).append(payment)
    return found
