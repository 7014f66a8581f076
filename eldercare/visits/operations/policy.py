"""A county's visit rules and what they give a plan: its tier (from the person's data) and its
next due visit (from the visits and open major events); recomputed when the rules, the
data or a birthday change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from eldercare.core import audit, resident_id
from eldercare.core.db import day_start, local_date, local_today
from eldercare.core.errors import AppError, Invalid
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person
from eldercare.regions.models import Level, Region
from eldercare.visits.models import (
    CareTarget,
    Category,
    MajorEvent,
    Tier,
    Visit,
    VisitPolicy,
    ability_at_least,
)
from eldercare.visits.operations.common import audit_plan, can_set_policy


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
    audit_plan(
        "care_target.tier_recomputed",
        target,
        by,
        changes={"computed_tier": [before[0], after[0]], "categories": [before[1], after[1]]},
    )
    return True


def save_policy(county: Region, data: dict, by) -> VisitPolicy:
    """Change a county's rules; every active plan of the county is recomputed at once."""
    if not can_set_policy(by, county):
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
