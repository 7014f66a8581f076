"""How the visits feature answers the registry's events (see people.signals)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core.db import local_zone, utcnow
from eldercare.extensions import db
from eldercare.notifications import signals as outbox_signals
from eldercare.notifications.models import OutboxMessage, OutboxStatus
from eldercare.people import signals
from eldercare.people.family import FAMILY_VISIT_DAYS, VisitLine
from eldercare.people.models import LifeEvent, LifeEventKind, Person
from eldercare.people.signals import Effect
from eldercare.visits import notices
from eldercare.visits import operations as ops
from eldercare.visits.models import TIER_LABELS, CareTarget, EndReason, Tier, Visit

DEPARTURES = {
    LifeEventKind.DEATH.value: EndReason.DEATH.value,
    LifeEventKind.MOVED_OUT.value: EndReason.MOVED.value,
}
ENDED = {
    EndReason.DEATH.value: _l("The visit plan has ended (death)."),
    EndReason.MOVED.value: _l("The visit plan has ended (moved away)."),
}


@signals.person_changed.connect
def _plan_follows_the_person(person: Person, by=None, **_kwargs):
    """A change of living situation, ability or area changes the visit tier (or the county
    whose rules apply). A death or a move out is a life event, answered below."""
    ops.person_changed(person, by)


@signals.life_event.connect
def _plan_follows_the_life_event(event: LifeEvent, by=None, **_kwargs):
    """A death or a move out of the county ends the plan on the day, releases the visitors
    and cancels the reminders about the person still waiting. A lost status or a new ability
    level: the tier follows (``person_changed`` usually did it already: then nothing more)."""
    person = event.person
    reason = DEPARTURES.get(event.kind)
    if reason is not None:
        ended = ops.follow_departure(person, reason, event.occurred_on, by)
        if ended is None:
            return None
        return [Effect("visits", ENDED[reason], family=_l("Regular visits have stopped."))]
    if person.has_left:
        return None
    target = ops.plan_of(person)
    if target is None or not target.active or not ops.recompute_tier(target, by):
        return None
    return [
        Effect("visits", _l("Visit tier is now %(tier)s.", tier=TIER_LABELS[Tier(target.tier)]))
    ]


@signals.family_sections.connect
def _visits_for_family(person: Person, **_kwargs):
    visits = db.session.scalars(
        sa.select(Visit)
        .join(CareTarget, CareTarget.id == Visit.target_id)
        .where(
            CareTarget.person_id == person.id,
            Visit.visited_at >= utcnow() - timedelta(days=FAMILY_VISIT_DAYS),
        )
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
    )
    return {"visits": [VisitLine(v.visited_at, v.method_label, v.summary) for v in visits]}


@signals.involved.connect
def _visits_involved(kind, person_ids=(), **_kwargs):
    """A bulk recording's people with a visit plan (visitors may still be assigned to an
    ended one) or a message waiting about them."""
    return set(
        db.session.scalars(
            sa.union(
                sa.select(CareTarget.person_id).where(CareTarget.person_id.in_(person_ids)),
                sa.select(OutboxMessage.about_person_id).where(
                    OutboxMessage.about_person_id.in_(person_ids),
                    OutboxMessage.status == OutboxStatus.PENDING.value,
                ),
            )
        )
    )


@outbox_signals.still_true.connect
def _visit_message_still_true(message: OutboxMessage, now, **_kwargs):
    """A reminder to visit goes out only while the visit is still needed."""
    if not message.idempotency_key.startswith("visit-"):
        return None
    return notices.stale_reason(message.idempotency_key, now.astimezone(local_zone()).date())
