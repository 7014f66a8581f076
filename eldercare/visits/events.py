"""How the visits feature answers the registry's events (see people.signals)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.people import signals
from eldercare.people.family import FAMILY_VISIT_DAYS, VisitLine
from eldercare.people.models import Person
from eldercare.visits import operations as ops
from eldercare.visits.models import CareTarget, Visit


@signals.person_changed.connect
def _plan_follows_the_person(person: Person, by=None, **_kwargs):
    """A change of living situation, ability or death changes the visit tier or ends the
    visits at once."""
    ops.person_changed(person, by)


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
