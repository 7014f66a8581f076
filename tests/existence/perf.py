"""Rows for the list-query bounds of tests/perf/test_list_queries.py: checks overdue in the
township staff's area, person programs of the county with a setting."""

from __future__ import annotations

import itertools
from datetime import timedelta

import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.subsidies.existence.models import ExistencePolicy
from eldercare.subsidies.models import Program
from tests.existence.helpers import checked_program, enrolled
from tests.subsidies.helpers import make_program

_n = itertools.count(1)


def _checked_program(world) -> Program:
    found = db.session.scalar(
        sa.select(Program)
        .join(ExistencePolicy, ExistencePolicy.program_id == Program.id)
        .where(Program.region_id == world.county_a.id)
    )
    return found or checked_program(world, code=f"EX{next(_n)}", name=f"高龄津贴{next(_n)}")


def checks_overdue(world, n: int) -> None:
    program = _checked_program(world)
    for i in range(n):
        enrolment = enrolled(world, program)
        enrolment.activated_on = local_today() - timedelta(days=380 + i)
    db.session.flush()


def programs_with_a_check(world, n: int) -> None:
    for _ in range(n):
        checked_program(world, code=f"EP{next(_n)}", name=f"津贴{next(_n)}")
    # and one without, to show both
    make_program(world, code=f"EN{next(_n)}", name=f"无认证{next(_n)}")
