"""A person's visit plan from enrolment to its end: enrol (one or many candidates), set or
clear the tier override, follow the registry's changes (a move, a death), end the plan."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from eldercare.core import audit
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.forms import errors_of
from eldercare.core.permissions import is_visible, scope_clause
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person
from eldercare.regions.models import Region
from eldercare.visits.models import CareTarget
from eldercare.visits.operations.common import (
    audit_plan,
    require_manager,
    snapshot,
    still_visited,
)
from eldercare.visits.operations.policy import (
    categories_of,
    compute_tier,
    county_of,
    current_ability,
    policy_for,
    recompute_tier,
    refresh_due,
)


def enrol(person: Person, by, categories: Iterable[str] = (), on: date | None = None) -> CareTarget:
    """Enrol a registered person for regular visits (again, if an earlier plan ended)."""
    require_manager(by)
    if not is_visible(person, by):  # the same answer as for a person who does not exist
        raise Invalid(errors={"person_id": [_l("The page or record was not found.")]})
    if person.death_date is not None:
        raise Conflict(_l("This person has died."))
    if person.moved_out_on is not None:
        raise Conflict(_l("This person has moved out of the county."))
    on = on or local_today()
    ability = current_ability(person.id)
    chosen = sorted(set(categories_of(person, ability)) | set(categories))
    if not chosen:
        raise Invalid(
            errors={
                "categories": [
                    _l(
                        "The person is in no covered category: living alone, empty nest, left "
                        "behind, disabled, severely handicapped or a special family."
                    )
                ]
            }
        )
    county = county_of(person.region)
    policy = policy_for(county.id)
    target = db.session.scalar(
        sa.select(CareTarget).where(CareTarget.person_id == person.id).with_for_update()
    )
    if target is not None and target.active:
        raise Conflict(_l("This person is already visited regularly."))
    before = snapshot(target) if target is not None else {}
    if target is None:
        target = CareTarget(person_id=person.id, person=person)
        db.session.add(target)
    if before:  # enrolled again: a fresh plan (the old visits stay in the history)
        target.override_tier = None
        target.override_reason = ""
        target.override_by_id = None
        target.override_at = None
        target.escalated_for = None
        target.assignments.clear()
    target.county_id = county.id
    target.categories = chosen
    target.computed_tier = compute_tier(person, ability, chosen, policy, on)
    target.enrolled_on = on
    target.enrolled_by_id = by.id
    target.active = True
    target.ended_on = None
    target.end_reason = None
    db.session.flush()
    refresh_due(target, policy)
    audit.record(
        "care_target.enrolled",
        target,
        actor=by,
        region_id=person.region_id,
        changes=audit.changes_between(before, snapshot(target)),
    )
    return target


def enrol_by_id(person_id: int, by, categories: Iterable[str] = ()) -> CareTarget:
    """Enrol the registered person of that id (the enrol form of the person's page)."""
    person = db.session.get(Person, person_id)
    if person is None:
        raise Invalid(errors={"person_id": [_("The page or record was not found.")]})
    return enrol(person, by, categories)


def enrol_many(person_ids: list[int], by) -> list[CareTarget]:
    """Enrol the candidates ticked in the list, all or none; a refusal names the person it
    is about (one among many)."""
    people = db.session.scalars(
        sa.select(Person).where(Person.id.in_(person_ids), scope_clause(Person, by))
    ).all()
    if len(people) != len(set(person_ids)):
        raise Invalid(errors={"person_ids": [_("Choose people of your area.")]})
    return [_enrol_one(person, by) for person in people]


def _enrol_one(person: Person, by) -> CareTarget:
    try:
        return enrol(person, by)
    except AppError as err:  # one of many: say whom it is about
        problem = err.message or next(iter(errors_of(err).values()))[0]
        message = _("%(name)s: %(problem)s", name=person.name, problem=problem)
        raise AppError(err.code, message, audit=err.audit) from err


def candidates(user, region: Region | None = None) -> sa.Select:
    """Living people of the user's area in a covered category who are not visited yet."""
    ability = (
        sa.select(AbilityAssessment.level)
        .where(AbilityAssessment.person_id == Person.id)
        .order_by(AbilityAssessment.assessed_on.desc(), AbilityAssessment.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    covered = sa.or_(
        Person.lives_alone,
        Person.empty_nest,
        Person.left_behind,
        Person.special_family,
        ability.in_(["moderate", "severe", "total"]),
    )
    active_targets = sa.select(CareTarget.person_id).where(CareTarget.active.is_(True))
    stmt = (
        sa.select(Person)
        .options(joinedload(Person.region), selectinload(Person.assessments))
        .where(
            scope_clause(Person, user),
            Person.death_date.is_(None),
            Person.moved_out_on.is_(None),
            covered,
            Person.id.not_in(active_targets),
        )
        .order_by(Person.region_id, Person.name, Person.id)
    )
    if region is not None:
        stmt = stmt.where(Person.region_id.in_(Region.subtree_ids(region)))
    return stmt


def search_candidates(user, args: dict) -> sa.Select:
    """The candidates list's query: ``region_id`` narrows it to that area."""
    region = db.session.get(Region, args["region_id"]) if args.get("region_id") else None
    return candidates(user, region)


def set_override(target: CareTarget, tier: str | None, reason: str, by) -> CareTarget:
    require_manager(by, target)
    if tier and not reason:
        raise Invalid(errors={"reason": [_l("Say why the tier differs from the computed one.")]})
    still_visited(target)
    before = snapshot(target)
    target.override_tier = tier or None
    target.override_reason = reason if tier else ""
    target.override_by_id = by.id if tier else None
    target.override_at = utcnow() if tier else None
    refresh_due(target)
    audit.record(
        "care_target.tier_overridden" if tier else "care_target.override_cleared",
        target,
        actor=by,
        region_id=target.person.region_id,
        changes=audit.changes_between(before, snapshot(target)),
        note=reason,
    )
    return target


def end_target(
    target: CareTarget, reason: str, on: date, by, check: bool = True, note: str = ""
) -> CareTarget:
    """Stop regular visits (death, moved away, ...); the history stays. The visitors are
    released: the person leaves their lists and their phones (``close_assignments``)."""
    if check:
        require_manager(by, target)
    still_visited(target)
    if on < target.enrolled_on:
        raise Invalid(errors={"ended_on": [_l("The date is before the enrolment.")]})
    before = snapshot(target)
    visitors = _release_visitors(target)
    target.active = False
    target.ended_on = on
    target.end_reason = reason
    refresh_due(target)
    changes = {**audit.changes_between(before, snapshot(target)), "end_reason": [None, reason]}
    if visitors:
        changes["visitor"] = [visitors, None]
    audit_plan("care_target.ended", target, by, changes=changes, note=note)
    return target


def _release_visitors(target: CareTarget) -> str:
    """Remove the plan's visitors; their user names, for the audit entry."""
    names = ",".join(a.visitor.username for a in target.assignments)
    target.assignments.clear()
    db.session.flush()
    return names


def close_assignments(target: CareTarget, by=None, note: str = "") -> int:
    """Release the visitors of an ended plan (the repair of a plan ended before plans
    released them); how many were assigned."""
    count = len(target.assignments)
    if target.active or not count:
        return 0
    names = _release_visitors(target)
    audit_plan(
        "care_target.visitor_unassigned", target, by, changes={"visitor": [names, None]}, note=note
    )
    return count


def person_changed(person: Person, by=None) -> None:
    """The registry changed a person (flags, ability, region): keep the visit plan in step.
    A death or a move out of the county is a life event (``visits.departures``)."""
    if person.has_left:
        return
    target = db.session.scalar(sa.select(CareTarget).where(CareTarget.person_id == person.id))
    if target is None or not target.active:
        return
    county = county_of(person.region)
    if county.id != target.county_id:
        _moved_county(target, county, by)
    recompute_tier(target, by)


def _moved_county(target: CareTarget, county: Region, by) -> None:
    """The person moved to another county: its rules apply, and its visitors only."""
    before = [a.visitor.username for a in target.assignments]
    target.county_id = county.id
    target.assignments[:] = [
        a for a in target.assignments if a.visitor.region and county.contains(a.visitor.region)
    ]
    refresh_due(target)
    audit_plan(
        "care_target.moved",
        target,
        by,
        changes={
            "county_id": [None, county.id],
            "visitor": [",".join(before), ",".join(a.visitor.username for a in target.assignments)],
        },
    )


def plan_of(person: Person) -> CareTarget | None:
    return db.session.scalar(sa.select(CareTarget).where(CareTarget.person_id == person.id))
