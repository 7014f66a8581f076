"""What the subsidy pages load by an id a form or a link names, beyond the list queries: the
county an administrator chose, a program's rule table, a person in the user's area, a
payment of one batch. Each answer is None when there is no such record in reach, so the
page can say so in its own way (a field's message, a 404)."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.core.db import MAX_ID
from eldercare.core.permissions import visible
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.subsidies import queries
from eldercare.subsidies.models import Batch, Program, RuleTable


def _valid(ident: int | None) -> bool:
    return ident is not None and 0 < ident <= MAX_ID


def region(region_id: int | None) -> Region | None:
    """The region of that id (an administrator's choice of county; anyone's in reach)."""
    return db.session.get(Region, region_id) if _valid(region_id) else None


def rule_table_of(program: Program, table_id: int) -> RuleTable | None:
    """A rule table of ``program``, loaded as one of its tables (one query): the program
    was loaded through its scope, and the table of another program is not found."""
    if not _valid(table_id):
        return None
    return db.session.scalar(
        sa.select(RuleTable).where(RuleTable.id == table_id, RuleTable.program_id == program.id)
    )


def person_in_reach(person_id: int | None, user) -> Person | None:
    """The registered person of that id, when ``user`` may see them."""
    if not _valid(person_id):
        return None
    return db.session.scalar(visible(Person, user).where(Person.id == person_id))


def batch_exceptions_page(batch: Batch, page: int):
    """One page (of 20) of the batch's held and excluded payments."""
    return db.paginate(queries.batch_exceptions(batch), page=page, per_page=20, error_out=False)
