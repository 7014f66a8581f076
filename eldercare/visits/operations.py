"""Visit care: enrol people, compute their tier and next due visit, record visits, events and
follow-ups; lists of who is due, monthly coverage and the visit ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from eldercare.auth.models import User
from eldercare.core import audit, resident_id
from eldercare.core.db import day_start, local_date, local_today, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import STAFF_ROLES, Role, is_visible, role_of, scope_clause
from eldercare.core.templating import local_time
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person
from eldercare.regions.models import Level, Region
from eldercare.visits.models import (
    CareAssignment,
    CareTarget,
    Category,
    DueStatus,
    FollowUp,
    MajorEvent,
    Tier,
    Visit,
    VisitPolicy,
    ability_at_least,
)

#: Roles that manage care targets (enrol, assign, override, end) inside their area.
MANAGERS = frozenset({Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF})
VISIT_FIELDS = (
    "method",
    "living_conditions",
    "health",
    "mood",
    "family_support",
    "safety_hazards",
    "services_received",
    "needs_referred",
    "summary",
)


# --- policy and tier ------------------------------------------------------------------------


def county_of(region: Region) -> Region:
    """The county (县/区) a township or village belongs to."""
    county = region.county
    if county is None:
        raise Invalid(_l("This place belongs to no county."))
    return county


def policy_for(county_id: int) -> VisitPolicy:
    """The county's saved policy, or the defaults when it has none."""
    saved = db.session.scalar(sa.select(VisitPolicy).where(VisitPolicy.region_id == county_id))
    return saved if saved is not None else VisitPolicy.defaults(county_id)


def categories_of(person: Person, ability: str | None = None) -> list[str]:
    """Covered categories the registry already shows for a person."""
    found = [
        c.value
        for c in (
            Category.LIVES_ALONE,
            Category.EMPTY_NEST,
            Category.LEFT_BEHIND,
            Category.SPECIAL_FAMILY,
        )
        if getattr(person, c.value)
    ]
    if ability_at_least(ability, "moderate"):
        found.append(Category.DISABLED.value)
    return found


def compute_tier(
    person: Person, ability: str | None, categories: Iterable[str], policy: VisitPolicy, on: date
) -> str:
    """The tier the county's rules give a person's data.

    High: aged ``high_risk_age`` or more and living alone, empty-nest or left behind, or
    ability at or below ``high_ability_level``. Key: ability at or below
    ``key_ability_level``, disabled or severely handicapped, dispersed 特困 support, or a
    family-planning special family. General: everyone else covered."""
    categories = set(categories)
    alone = categories & {
        Category.LIVES_ALONE.value,
        Category.EMPTY_NEST.value,
        Category.LEFT_BEHIND.value,
    }
    if person.age_on(on) >= policy.high_risk_age and alone:
        return Tier.HIGH.value
    if ability_at_least(ability, policy.high_ability_level):
        return Tier.HIGH.value
    if (
        ability_at_least(ability, policy.key_ability_level)
        or categories
        & {
            Category.DISABLED.value,
            Category.SEVERELY_HANDICAPPED.value,
            Category.SPECIAL_FAMILY.value,
        }
        or person.economic_status == "tekun_dispersed"
    ):
        return Tier.KEY.value
    return Tier.GENERAL.value


def current_ability(person_id: int) -> str | None:
    return db.session.scalar(
        sa.select(AbilityAssessment.level)
        .where(AbilityAssessment.person_id == person_id)
        .order_by(AbilityAssessment.assessed_on.desc(), AbilityAssessment.id.desc())
        .limit(1)
    )


def due_dates(
    target: CareTarget, policy: VisitPolicy, last_visit_at: datetime | None
) -> date | None:
    """Next regular visit: the interval of the tier after the last visit, or the first
    visit's allowance after enrolment (never later than one interval)."""
    interval = policy.interval_days(target.tier)
    if last_visit_at is not None:
        return local_date(last_visit_at) + timedelta(days=interval)
    return target.enrolled_on + timedelta(days=min(policy.first_visit_days, interval))


def refresh_due(target: CareTarget, policy: VisitPolicy | None = None) -> CareTarget:
    """Recompute the stored due dates from the visits, the tier and open major events.
    Called by every operation that changes one of them, so the status is always right."""
    policy = policy or policy_for(target.county_id)
    db.session.flush()
    # Visits of an earlier enrolment (before the person moved away and back) do not count.
    target.last_visit_at = db.session.scalar(
        sa.select(sa.func.max(Visit.visited_at)).where(
            Visit.target_id == target.id, Visit.visited_at >= day_start(target.enrolled_on)
        )
    )
    if not target.active:
        target.next_due_on = None
        target.urgent_due_at = None
        return target
    target.next_due_on = due_dates(target, policy, target.last_visit_at)
    target.urgent_due_at = db.session.scalar(
        sa.select(sa.func.min(MajorEvent.visit_due_at)).where(
            MajorEvent.target_id == target.id, MajorEvent.answered_by_visit_id.is_(None)
        )
    )
    return target


def recompute_tier(target: CareTarget, by=None, on: date | None = None) -> bool:
    """Apply the county rules to the person's current data (categories the registry shows,
    plus those only staff know, such as severe handicap); refresh the due date when the
    computed tier changed. True when it changed."""
    on = on or local_today()
    policy = policy_for(target.county_id)
    ability = current_ability(target.person_id)
    manual = {Category.SEVERELY_HANDICAPPED.value} & set(target.categories or [])
    categories = sorted(set(categories_of(target.person, ability)) | manual)
    before = (target.computed_tier, ",".join(target.categories or []))
    if categories:  # out of every category: staff decide whether visits end
        target.categories = categories
    target.computed_tier = compute_tier(target.person, ability, target.categories or [], policy, on)
    after = (target.computed_tier, ",".join(target.categories or []))
    if after == before:
        return False
    refresh_due(target, policy)
    _audit(
        "care_target.tier_recomputed",
        target,
        by,
        changes={"computed_tier": [before[0], after[0]], "categories": [before[1], after[1]]},
    )
    return True


def person_changed(person: Person, by=None) -> None:
    """The registry changed a person (flags, ability, death): keep the visit plan in step."""
    target = db.session.scalar(sa.select(CareTarget).where(CareTarget.person_id == person.id))
    if target is None or not target.active:
        return
    if person.death_date is not None:
        end_target(target, "death", person.death_date, by, check=False)
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
    _audit(
        "care_target.moved",
        target,
        by,
        changes={
            "county_id": [None, county.id],
            "visitor": [",".join(before), ",".join(a.visitor.username for a in target.assignments)],
        },
    )


# --- permissions ----------------------------------------------------------------------------


def can_manage(user, target: CareTarget | None = None) -> bool:
    if role_of(user) not in MANAGERS:
        return False
    return target is None or is_visible(target, user)


def _require_manager(user, target: CareTarget | None = None) -> None:
    if not can_manage(user, target):
        raise AppError(403, _l("You do not have permission to do this."))


def _still_visited(target: CareTarget) -> None:
    """Nothing more is recorded in an ended plan: say when it ended and what to do."""
    if not target.active:
        raise Conflict(
            _l(
                "Regular visits of this person ended on %(date)s, so this plan takes no more "
                "changes, visits or events. If the person is to be visited again, township or "
                "county staff enrol them again from their page in the registry.",
                date=target.ended_on,
            )
        )


def is_assigned(user, target: CareTarget) -> bool:
    return any(a.visitor_id == user.id for a in target.assignments)


def can_record(user, target: CareTarget) -> bool:
    """The assigned visitors, and staff of the area (who also make phone visits)."""
    role = role_of(user)
    if role == Role.VISITOR:
        return is_assigned(user, target)
    return role in MANAGERS and is_visible(target, user)


# --- enrolment, tier override, assignment, end -----------------------------------------------


def _audit(action: str, target: CareTarget, by, **entry) -> None:
    """An audit entry about a plan, filed under the person's area."""
    audit.record(action, target, actor=by, region_id=target.person.region_id, **entry)


def _snapshot(target: CareTarget) -> dict:
    return {
        "tier": target.tier,
        "computed_tier": target.computed_tier,
        "override_tier": target.override_tier,
        "categories": ",".join(target.categories or []),
        "active": target.active,
        "next_due_on": target.next_due_on,
    }


def enrol(person: Person, by, categories: Iterable[str] = (), on: date | None = None) -> CareTarget:
    """Enrol a registered person for regular visits (again, if an earlier plan ended)."""
    _require_manager(by)
    if not is_visible(person, by):  # the same answer as for a person who does not exist
        raise Invalid(errors={"person_id": [_l("The page or record was not found.")]})
    if person.death_date is not None:
        raise Conflict(_l("This person has died."))
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
    before = _snapshot(target) if target is not None else {}
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
        changes=audit.changes_between(before, _snapshot(target)),
    )
    return target


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
            covered,
            Person.id.not_in(active_targets),
        )
        .order_by(Person.region_id, Person.name, Person.id)
    )
    if region is not None:
        stmt = stmt.where(Person.region_id.in_(Region.subtree_ids(region)))
    return stmt


def set_override(target: CareTarget, tier: str | None, reason: str, by) -> CareTarget:
    _require_manager(by, target)
    if tier and not reason:
        raise Invalid(errors={"reason": [_l("Say why the tier differs from the computed one.")]})
    _still_visited(target)
    before = _snapshot(target)
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
        changes=audit.changes_between(before, _snapshot(target)),
        note=reason,
    )
    return target


def assignable_visitors(target: CareTarget, by) -> list[User]:
    """Active visitor accounts of the person's county inside the acting user's area."""
    area = by.region if by.region is not None else target.county
    county = target.county
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Region, Region.id == User.region_id)
            .where(
                User.role == Role.VISITOR.value,
                User.active.is_(True),
                Region.code.startswith(area.prefix, autoescape=True),
                Region.code.startswith(county.prefix, autoescape=True),
            )
            .order_by(User.display_name, User.id)
        )
    )


def assign(target: CareTarget, visitor: User, by) -> CareAssignment:
    _require_manager(by, target)
    _still_visited(target)
    if visitor.id not in {v.id for v in assignable_visitors(target, by)}:
        raise Invalid(errors={"visitor_id": [_l("Choose a visitor of this area.")]})
    if is_assigned(visitor, target):
        raise Conflict(_l("This visitor is already assigned."))
    assignment = CareAssignment(target=target, visitor_id=visitor.id, assigned_by_id=by.id)
    db.session.add(assignment)
    db.session.flush()
    _audit(
        "care_target.visitor_assigned",
        target,
        by,
        changes={"visitor": [None, visitor.username]},
    )
    return assignment


def unassign(target: CareTarget, visitor: User, by) -> None:
    _require_manager(by, target)
    assignment = next((a for a in target.assignments if a.visitor_id == visitor.id), None)
    if assignment is None:
        raise Conflict(_l("This visitor is not assigned."))
    target.assignments.remove(assignment)
    db.session.flush()
    _audit(
        "care_target.visitor_unassigned",
        target,
        by,
        changes={"visitor": [visitor.username, None]},
    )


def end_target(target: CareTarget, reason: str, on: date, by, check: bool = True) -> CareTarget:
    """Stop regular visits (death, moved away, ...); the history stays."""
    if check:
        _require_manager(by, target)
    _still_visited(target)
    if on < target.enrolled_on:
        raise Invalid(errors={"ended_on": [_l("The date is before the enrolment.")]})
    before = _snapshot(target)
    target.active = False
    target.ended_on = on
    target.end_reason = reason
    refresh_due(target)
    _audit(
        "care_target.ended",
        target,
        by,
        changes={**audit.changes_between(before, _snapshot(target)), "end_reason": [None, reason]},
    )
    return target


def end_departed(today: date | None = None) -> int:
    """End the plans of people the registry now records as dead (the registry may learn of a
    death from funeral or household data, without passing through this feature)."""
    rows = db.session.scalars(
        sa.select(CareTarget)
        .join(Person, Person.id == CareTarget.person_id)
        .where(CareTarget.active.is_(True), Person.death_date.is_not(None))
        .options(joinedload(CareTarget.person))
    ).all()
    for target in rows:
        end_target(target, "death", max(target.person.death_date, target.enrolled_on), None, False)
    return len(rows)


# --- visits, events, follow-ups ---------------------------------------------------------------


def lock_target(target_id: int) -> CareTarget:
    """Serialise changes to one target's visit plan (two visitors recording at once)."""
    target = db.session.scalar(
        sa.select(CareTarget).where(CareTarget.id == target_id).with_for_update()
    )
    if target is None:
        raise AppError(404)
    return target


def record_visit(target: CareTarget, data: dict, by) -> tuple[Visit, bool]:
    """Record a visit; returns (visit, created). A form sent again with the same client
    token (lost signal, signing in again) returns the visit already recorded."""
    if not can_record(by, target):
        raise AppError(403, _l("You do not have permission to do this."))
    token = data.get("client_token")
    visited_at = data["visited_at"].astimezone(UTC)
    # Under the plan's lock, so that two copies of one form sent at once meet here.
    target = lock_target(target.id)
    if token:
        earlier = db.session.scalar(sa.select(Visit).where(Visit.client_token == token))
        if earlier is not None:
            mine = earlier.target_id == target.id and earlier.visitor_id == by.id
            changes = visit_differences(earlier, data) if mine else {}
            if mine and not changes:
                return earlier, False
            if mine:  # the first copy was saved (its reply lost), then the draft was changed
                time = local_time(earlier.visited_at)
                said = (
                    _l(
                        "This form was already recorded as the visit of %(time)s, and your "
                        "entries differ from it. Apply your corrections to the saved visit, "
                        "or press Submit to record a separate visit.",
                        time=time,
                    )
                    if can_correct(by, earlier)
                    else _l(
                        "This form was already recorded as the visit of %(time)s, and your "
                        "entries differ from it. It can no longer be corrected here (more "
                        "than %(hours)s hours ago); press Submit to record a separate visit.",
                        time=time,
                        hours=CORRECTION_HOURS,
                    )
                )
                raise Conflict(errors={"client_token": [said, describe_differences(changes)]})
            # An old draft reused for a new visit: send it as a new form.
            raise Conflict(
                errors={
                    "client_token": [
                        _l(
                            "This form was already sent for the visit of %(time)s. Check "
                            "the entries and press Submit again to record a new visit.",
                            time=local_time(earlier.visited_at),
                        )
                    ]
                }
            )
    _still_visited(target)
    if local_date(visited_at) < target.enrolled_on:
        raise Invalid(errors={"visited_at": [_l("The date is before the enrolment.")]})
    visit = Visit(
        target_id=target.id,
        visitor_id=by.id,
        visited_at=visited_at,
        health_notes=data.get("health_notes") or None,
        location_text=data.get("location_text") or None,
        client_token=token,
        **{name: data.get(name, "") for name in VISIT_FIELDS},
    )
    db.session.add(visit)
    db.session.flush()
    if data.get("follow_up"):
        add_follow_up(
            visit,
            data["follow_up"],
            data.get("follow_up_due_on") or local_today() + timedelta(days=7),
            by,
        )
    # A visit after a major event answers it.
    for event in db.session.scalars(
        sa.select(MajorEvent).where(
            MajorEvent.target_id == target.id,
            MajorEvent.answered_by_visit_id.is_(None),
            MajorEvent.occurred_at <= visited_at,
        )
    ):
        event.answered_by_visit_id = visit.id
    refresh_due(target)
    audit.record(
        "visit.recorded",
        visit,
        actor=by,
        region_id=target.person.region_id,
        changes={
            "visited_at": [None, visited_at],
            "method": [None, visit.method],
            "next_due_on": [None, target.next_due_on],
        },
    )
    return visit, True


#: A visit's recorder may correct it this long after recording it (a draft sent again
#: after a lost reply); later changes would rewrite figures already reported.
CORRECTION_HOURS = 72
#: Fields shown in a correction but never written into the audit log in clear.
SENSITIVE_FIELDS = ("health_notes", "location_text")


def can_correct(user, visit: Visit) -> bool:
    """The recorder of a visit, within the correction window."""
    return (
        visit.visitor_id == user.id
        and visit.created_at is not None
        and utcnow() - visit.created_at <= timedelta(hours=CORRECTION_HOURS)
    )


def correctable_token(target: CareTarget, token: str | None, user) -> bool:
    """Whether ``token`` names a visit of ``target`` that ``user`` may still correct."""
    if not token:
        return False
    visit = db.session.scalar(
        sa.select(Visit).where(Visit.client_token == token, Visit.target_id == target.id)
    )
    return visit is not None and can_correct(user, visit)


def visit_differences(visit: Visit, data: dict) -> dict[str, list]:
    """field -> [saved, sent] for what a form sent again changes of the saved visit. An
    empty follow-up never removes one (follow-ups are closed, not deleted)."""
    changes: dict[str, list] = {}
    visited_at = data["visited_at"].astimezone(UTC)
    if visit.visited_at != visited_at:
        changes["visited_at"] = [visit.visited_at, visited_at]
    for name in VISIT_FIELDS:
        if getattr(visit, name) != data.get(name, ""):
            changes[name] = [getattr(visit, name), data.get(name, "")]
    for name in SENSITIVE_FIELDS:
        if (getattr(visit, name) or "") != (data.get(name) or ""):
            changes[name] = [getattr(visit, name) or "", data.get(name) or ""]
    problem = data.get("follow_up") or ""
    saved = visit.follow_ups[0].problem if visit.follow_ups else ""
    if problem and problem != saved:
        changes["follow_up"] = [saved, problem]
    return changes


def describe_differences(changes: dict[str, list]) -> str:
    """The changed fields named in words, for the visitor to check."""
    from eldercare.visits.models import FINDING_CHOICES, FINDING_LABELS, METHOD_LABELS

    names = {
        "visited_at": _l("Date and time of the visit"),
        "method": _l("How"),
        "safety_hazards": _l("Safety hazards found"),
        "services_received": _l("Care services received"),
        "needs_referred": _l("Needs referred"),
        "summary": _l("What happened"),
        "health_notes": _l("Health notes"),
        "location_text": _l("Where (optional)"),
        "follow_up": _l("Problem to follow up"),
        **FINDING_LABELS,
    }
    parts = []
    for name, (old, new) in changes.items():
        if name == "visited_at":
            old, new = local_time(old), local_time(new)
        elif name == "method":
            old, new = METHOD_LABELS[old], METHOD_LABELS[new]
        elif name in FINDING_CHOICES:
            old, new = FINDING_CHOICES[name][old], FINDING_CHOICES[name][new]
        if len(str(old)) > 40 or len(str(new)) > 40 or name in ("summary", "health_notes"):
            parts.append(str(names[name]))
        else:
            parts.append(f"{names[name]}: {old or '—'} → {new or '—'}")
    return str(_l("Changed: %(fields)s", fields="；".join(parts)))


def correct_visit(target: CareTarget, data: dict, by) -> Visit:
    """Apply a form sent again (same client token) to the visit it already recorded: an
    audited edit by the visit's recorder within ``CORRECTION_HOURS``."""
    token = data.get("corrects_token") or data.get("client_token")
    target = lock_target(target.id)
    visit = (
        db.session.scalar(
            sa.select(Visit).where(Visit.client_token == token, Visit.target_id == target.id)
        )
        if token
        else None
    )
    if visit is None:
        raise Conflict(_l("The visit to correct was not found; press Submit to record it."))
    if visit.visitor_id != by.id:
        raise AppError(403, _l("Only the visitor who recorded a visit may correct it."))
    if not can_correct(by, visit):
        raise Conflict(
            _l(
                "This visit was recorded more than %(hours)s hours ago and can no longer be "
                "corrected here.",
                hours=CORRECTION_HOURS,
            )
        )
    changes = visit_differences(visit, data)
    if not changes:
        return visit
    visited_at = data["visited_at"].astimezone(UTC)
    if local_date(visited_at) < target.enrolled_on:
        raise Invalid(errors={"visited_at": [_l("The date is before the enrolment.")]})
    visit.visited_at = visited_at
    for name in VISIT_FIELDS:
        setattr(visit, name, data.get(name, ""))
    for name in SENSITIVE_FIELDS:
        setattr(visit, name, data.get(name) or None)
    if "follow_up" in changes:
        open_one = next((f for f in visit.follow_ups if f.is_open), None)
        due_on = data.get("follow_up_due_on") or local_today() + timedelta(days=7)
        if open_one is None:
            add_follow_up(visit, data["follow_up"], due_on, by)
        else:
            open_one.problem = data["follow_up"]
            open_one.due_on = due_on
    for event in db.session.scalars(
        sa.select(MajorEvent).where(
            MajorEvent.target_id == target.id,
            MajorEvent.answered_by_visit_id.is_(None),
            MajorEvent.occurred_at <= visited_at,
        )
    ):
        event.answered_by_visit_id = visit.id
    before_due = target.next_due_on
    refresh_due(target)
    logged = {
        name: (["…", "…"] if name in SENSITIVE_FIELDS else values)
        for name, values in changes.items()
    }
    if target.next_due_on != before_due:
        logged["next_due_on"] = [before_due, target.next_due_on]
    audit.record(
        "visit.corrected",
        visit,
        actor=by,
        region_id=target.person.region_id,
        changes=logged,
    )
    return visit


def add_follow_up(visit: Visit, problem: str, due_on: date, by) -> FollowUp:
    """A problem found on a visit: assigned to the township staff of the person's area
    when there is one, else to whoever found it."""
    target = visit.target
    owner = township_staff_of(target.person.region)
    follow_up = FollowUp(
        visit_id=visit.id,
        target_id=target.id,
        problem=problem,
        assigned_to_id=(owner[0].id if owner else by.id),
        due_on=due_on,
    )
    db.session.add(follow_up)
    db.session.flush()
    audit.record(
        "follow_up.opened",
        follow_up,
        actor=by,
        region_id=target.person.region_id,
        changes={"due_on": [None, due_on]},
    )
    return follow_up


def close_follow_up(follow_up: FollowUp, resolution: str, by) -> FollowUp:
    # The person's visitors may close it too: they often settle it on the next visit.
    if not (can_record(by, follow_up.target) or follow_up.assigned_to_id == by.id):
        raise AppError(403, _l("You do not have permission to do this."))
    if follow_up.closed_at is not None:
        raise Conflict(_l("This follow-up is already closed."))
    follow_up.closed_at = utcnow()
    follow_up.closed_by_id = by.id
    follow_up.resolution = resolution
    db.session.flush()
    audit.record(
        "follow_up.closed",
        follow_up,
        actor=by,
        region_id=follow_up.target.person.region_id,
        changes={"closed_at": [None, follow_up.closed_at]},
    )
    return follow_up


def report_event(target: CareTarget, data: dict, by) -> MajorEvent:
    """A major event: a visit is due within the policy's hours, and the assigned visitors are
    told at once (through the outbox, in this same transaction)."""
    if not can_record(by, target):
        raise AppError(403, _l("You do not have permission to do this."))
    target = lock_target(target.id)
    _still_visited(target)
    policy = policy_for(target.county_id)
    occurred_at = data["occurred_at"].astimezone(UTC)
    event = MajorEvent(
        target_id=target.id,
        kind=data["kind"],
        occurred_at=occurred_at,
        visit_due_at=occurred_at + timedelta(hours=policy.event_visit_hours),
        note=data.get("note", ""),
        reported_by_id=by.id,
    )
    db.session.add(event)
    # Reported late: a visit already made after the event answers it.
    event.answered_by_visit_id = db.session.scalar(
        sa.select(Visit.id)
        .where(Visit.target_id == target.id, Visit.visited_at >= occurred_at)
        .order_by(Visit.visited_at)
        .limit(1)
    )
    db.session.flush()
    refresh_due(target, policy)
    audit.record(
        "visit_event.reported",
        event,
        actor=by,
        region_id=target.person.region_id,
        changes={"kind": [None, event.kind], "visit_due_at": [None, event.visit_due_at]},
    )
    from eldercare.visits import notices

    notices.event_reported(target, event)
    return event


# --- policy ---------------------------------------------------------------------------------


def save_policy(county: Region, data: dict, by) -> VisitPolicy:
    """Change a county's rules; every active plan of the county is recomputed at once."""
    allowed = role_of(by) == Role.ADMIN or (
        role_of(by) == Role.COUNTY_STAFF and by.region is not None and by.region.contains(county)
    )
    if not allowed:
        raise AppError(403, _l("You do not have permission to do this."))
    if county.level != Level.COUNTY.value:
        raise Invalid(_l("Visit rules are set per county."))
    policy = db.session.scalar(
        sa.select(VisitPolicy).where(VisitPolicy.region_id == county.id).with_for_update()
    )
    before = {}
    if policy is None:
        policy = VisitPolicy.defaults(county.id)
        db.session.add(policy)
    else:
        before = {k: getattr(policy, k) for k in data}
    for key, value in data.items():
        setattr(policy, key, value)
    policy.updated_by_id = by.id
    db.session.flush()
    changed = recompute_county(county.id, policy)
    audit.record(
        "visit_policy.saved",
        policy,
        actor=by,
        region_id=county.id,
        changes=audit.changes_between(before, {k: getattr(policy, k) for k in data}),
        note=str(changed),
    )
    return policy


def recompute_county(county_id: int, policy: VisitPolicy | None = None, on=None) -> int:
    """Recompute tier and due date of every active plan of a county; returns how many
    plans changed."""
    policy = policy or policy_for(county_id)
    on = on or local_today()
    targets = db.session.scalars(
        sa.select(CareTarget)
        .where(CareTarget.county_id == county_id, CareTarget.active.is_(True))
        .options(joinedload(CareTarget.person))
        .with_for_update(of=CareTarget)  # a visit recorded meanwhile waits, then counts
    ).all()
    abilities = _abilities([t.person_id for t in targets])
    changed = 0
    for target in targets:
        before = (target.computed_tier, target.next_due_on)
        target.computed_tier = compute_tier(
            target.person, abilities.get(target.person_id), target.categories or [], policy, on
        )
        target.next_due_on = due_dates(target, policy, target.last_visit_at)
        changed += before != (target.computed_tier, target.next_due_on)
    db.session.flush()
    return changed


def _abilities(person_ids: list[int]) -> dict[int, str]:
    """Each person's newest assessment level, in chunks of one query each."""
    out: dict[int, str] = {}
    for start in range(0, len(person_ids), 5000):
        chunk = person_ids[start : start + 5000]
        ranked = (
            sa.select(
                AbilityAssessment.person_id,
                AbilityAssessment.level,
                sa.func.row_number()
                .over(
                    partition_by=AbilityAssessment.person_id,
                    order_by=(AbilityAssessment.assessed_on.desc(), AbilityAssessment.id.desc()),
                )
                .label("rank"),
            )
            .where(AbilityAssessment.person_id.in_(chunk))
            .subquery()
        )
        out.update(
            db.session.execute(
                sa.select(ranked.c.person_id, ranked.c.level).where(ranked.c.rank == 1)
            ).all()
        )
    return out


def recompute_birthdays(on: date | None = None, window_days: int = 31) -> int:
    """Daily: a person who reaches the county's high-risk age (turning 80) changes tier with
    no change of data. Only plans whose person crossed that age in the last ``window_days``
    are recomputed (a scheduler that was down for days still catches them); every other
    cause of a tier change recomputes the plan when it happens."""
    on = on or local_today()
    changed = 0
    counties = db.session.scalars(
        sa.select(CareTarget.county_id).where(CareTarget.active.is_(True)).distinct()
    ).all()
    for county_id in counties:
        policy = policy_for(county_id)
        latest = resident_id.years_before(on, policy.high_risk_age)
        targets = db.session.scalars(
            sa.select(CareTarget)
            .join(Person, Person.id == CareTarget.person_id)
            .where(
                CareTarget.county_id == county_id,
                CareTarget.active.is_(True),
                Person.birth_date <= latest,
                Person.birth_date > latest - timedelta(days=window_days),
            )
            .options(joinedload(CareTarget.person))
        ).all()
        changed += sum(recompute_tier(target, None, on) for target in targets)
    return changed


# --- lists ----------------------------------------------------------------------------------


def township_staff_of(region: Region) -> list[User]:
    """Active township staff of the township a village or township belongs to."""
    node = region
    while node is not None and node.level not in (Level.TOWNSHIP.value, Level.COUNTY.value):
        node = node.parent
    if node is None or node.level != Level.TOWNSHIP.value:
        return []
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.role == Role.TOWNSHIP_STAFF.value,
                User.active.is_(True),
                User.region_id == node.id,
            )
            .order_by(User.id)
        )
    )


def due_condition(today: date, now: datetime, soon_days: int):
    """SQL for a plan whose visit is overdue or falls due within ``soon_days``."""
    return sa.and_(
        CareTarget.active.is_(True),
        sa.or_(
            CareTarget.next_due_on <= today + timedelta(days=soon_days),
            CareTarget.urgent_due_at.is_not(None),
        ),
    )


def status_condition(status: str, today: date, now: datetime, soon_days: int):
    """SQL for one due status, the same as ``CareTarget.status_on`` (NULLs made explicit so
    that a negation never drops a row)."""
    overdue = sa.or_(
        CareTarget.next_due_on < today,
        sa.and_(CareTarget.urgent_due_at.is_not(None), CareTarget.urgent_due_at <= now),
    )
    visited_today = sa.and_(
        CareTarget.last_visit_at.is_not(None),
        CareTarget.last_visit_at >= day_start(today),
        CareTarget.urgent_due_at.is_(None),  # a major event still waits for its visit
    )
    soon = sa.or_(
        CareTarget.next_due_on <= today + timedelta(days=soon_days),
        CareTarget.urgent_due_at.is_not(None),
    )
    active = sa.and_(CareTarget.active.is_(True), CareTarget.next_due_on.is_not(None))
    if status == DueStatus.OVERDUE:
        return sa.and_(active, overdue)
    if status == DueStatus.DONE:
        return sa.and_(active, sa.not_(overdue), visited_today)
    if status == DueStatus.DUE:
        return sa.and_(active, sa.not_(overdue), sa.not_(visited_today), soon)
    return sa.and_(active, sa.not_(overdue), sa.not_(visited_today), sa.not_(soon))


@dataclass
class DueList:
    overdue: list[CareTarget]
    due: list[CareTarget]
    done: list[CareTarget]


def due_list(user, today: date | None = None, now: datetime | None = None) -> DueList:
    """A visitor's (or staff's) "today and overdue": overdue first (the longest waiting at
    the top), then due soon, then those visited today."""
    today = today or local_today()
    now = now or utcnow()
    soon = _soon_days_for(user)
    rows = db.session.scalars(
        sa.select(CareTarget)
        .where(
            scope_clause(CareTarget, user),
            CareTarget.active.is_(True),
            sa.or_(
                due_condition(today, now, soon),
                CareTarget.last_visit_at >= day_start(today),
            ),
        )
        .options(joinedload(CareTarget.person).joinedload(Person.region))
        .order_by(
            CareTarget.urgent_due_at.asc().nulls_last(), CareTarget.next_due_on, CareTarget.id
        )
        .limit(500)
    ).all()
    out = DueList([], [], [])
    for target in rows:
        status = target.status_on(today, now, soon)
        {
            DueStatus.OVERDUE.value: out.overdue,
            DueStatus.DUE.value: out.due,
            DueStatus.DONE.value: out.done,
        }.get(status, []).append(target)
    return out


def _soon_days_for(user) -> int:
    region = user.region
    if region is not None and region.level in ("county", "township", "village"):
        return policy_for(county_of(region).id).due_soon_days
    return VisitPolicy.defaults().due_soon_days


def search_targets(user, args: dict, today: date | None = None) -> sa.Select:
    today = today or local_today()
    now = utcnow()
    stmt = (
        sa.select(CareTarget)
        .join(Person, Person.id == CareTarget.person_id)
        .where(scope_clause(CareTarget, user))
        .options(
            joinedload(CareTarget.person).joinedload(Person.region),
            selectinload(CareTarget.assignments).joinedload(CareAssignment.visitor),
        )
    )
    if not args.get("include_ended"):
        stmt = stmt.where(CareTarget.active.is_(True))
    if args.get("status"):
        stmt = stmt.where(status_condition(args["status"], today, now, _soon_days_for(user)))
    if args.get("tier"):
        tier = sa.func.coalesce(CareTarget.override_tier, CareTarget.computed_tier)
        stmt = stmt.where(tier == args["tier"])
    if args.get("region_id"):
        region = db.session.get(Region, args["region_id"])
        if region is not None:
            stmt = stmt.where(Person.region_id.in_(Region.subtree_ids(region)))
    if args.get("visitor_id"):
        stmt = stmt.where(
            CareTarget.assignments.any(CareAssignment.visitor_id == args["visitor_id"])
        )
    if args.get("unassigned"):
        stmt = stmt.where(~CareTarget.assignments.any())
    if args.get("q"):
        stmt = stmt.where(Person.name.contains(args["q"], autoescape=True))
    return stmt.order_by(CareTarget.next_due_on.asc().nulls_last(), CareTarget.id)


def visits_of(target: CareTarget, limit: int = 100) -> list[Visit]:
    return list(
        db.session.scalars(
            sa.select(Visit)
            .where(Visit.target_id == target.id)
            .options(joinedload(Visit.visitor), selectinload(Visit.follow_ups))
            .order_by(Visit.visited_at.desc(), Visit.id.desc())
            .limit(limit)
        )
    )


def events_of(target: CareTarget) -> list[MajorEvent]:
    return list(
        db.session.scalars(
            sa.select(MajorEvent)
            .where(MajorEvent.target_id == target.id)
            .order_by(MajorEvent.occurred_at.desc())
        )
    )


def open_follow_ups(user, target: CareTarget | None = None) -> list[FollowUp]:
    stmt = (
        sa.select(FollowUp)
        .where(scope_clause(FollowUp, user), FollowUp.closed_at.is_(None))
        .options(
            joinedload(FollowUp.target).joinedload(CareTarget.person),
            joinedload(FollowUp.assigned_to),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    if target is not None:
        stmt = stmt.where(FollowUp.target_id == target.id)
    elif role_of(user) not in STAFF_ROLES | {Role.ADMIN}:
        stmt = stmt.where(FollowUp.assigned_to_id == user.id)
    return list(db.session.scalars(stmt.limit(200)))


def age_of(person: Person, today: date) -> int:
    return resident_id.age_on(person.birth_date, today)


def visitors_in_area(user) -> list[User]:
    """Active visitor accounts inside the user's area (all of them for admins)."""
    stmt = sa.select(User).where(User.role == Role.VISITOR.value, User.active.is_(True))
    if user.region is not None:
        stmt = stmt.join(Region, Region.id == User.region_id).where(
            Region.code.startswith(user.region.prefix, autoescape=True)
        )
    elif role_of(user) != Role.ADMIN:
        return []
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id).limit(500)))


def plan_of(person: Person) -> CareTarget | None:
    return db.session.scalar(sa.select(CareTarget).where(CareTarget.person_id == person.id))
