"""Authorization matrix entries for the existence check: the due list and the checks of an
enrolment are the township's (and the county's), the setting of a program the county's."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.subsidies.existence.models import ExistencePolicy
from tests.authz.matrix import STAFF, Route
from tests.subsidies.authz import enrolment_in, program_in

KEEPERS = frozenset({"admin", "county_staff"})


def _checked(enrolment):
    """The enrolment's program asks for a check (made once per program)."""
    found = db.session.scalar(
        sa.select(ExistencePolicy).where(ExistencePolicy.program_id == enrolment.program_id)
    )
    if found is None:
        db.session.add(
            ExistencePolicy(
                program_id=enrolment.program_id,
                interval_months=12,
                grace_days=60,
                counted_from=date(2020, 1, 1),
            )
        )
        db.session.flush()
    return enrolment


def enrolment(world, user):
    inside = _checked(enrolment_in(world.village_a, world.county_a, "active"))
    if user.role == "township_staff":  # the next township of the same county
        outside = enrolment_in(world.village_a2, world.county_a, "active")
    else:
        outside = enrolment_in(world.village_b, world.county_b, "active")
    return inside.id, _checked(outside).id


def program(world, user):
    return program_in(world.county_a).id, program_in(world.county_b).id


ROUTES = [
    Route("existence.due", allowed=STAFF),
    Route("existence.enrolment", allowed=STAFF, target=enrolment),
    Route(
        "existence.verify",
        "POST",
        allowed=STAFF,
        target=enrolment,
        data=lambda w, u: {
            "checked_on": local_today().isoformat(),
            "method": "in_person",
            "witness": "王干部",
        },
        ok=(302,),
    ),
    Route("existence.programs", allowed=KEEPERS),
    Route("existence.policy", allowed=KEEPERS, target=program),
    Route(
        "existence.save_policy",
        "POST",
        allowed=KEEPERS,
        target=program,
        data=lambda w, u: {"active": "1", "interval_months": "12", "grace_days": "60"},
        ok=(302,),
    ),
]
