"""The payments table as generation writes it: an INSERT that skips any (enrolment,
period) already live, by the partial unique index, and the payments staff left out.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.subsidies.models import (
    Batch,
    Enrolment,
    ExceptionCode,
    Payment,
    PaymentStatus,
    Program,
)

LIVE_PREDICATE = sa.text(
    "status IN ('pending', 'held', 'approved', 'exported', 'paid') AND kind <> 'reversal'"
)


E = Enrolment.__table__


P = Person.__table__


PAY = Payment.__table__


def county_region_ids(program: Program) -> sa.Select:
    return sa.select(Region.id).where(Region.code.startswith(program.region.prefix))


def insert_unless_live(source=None, columns=None):
    """INSERT into payments (from ``source`` when given) that skips any (enrolment, period)
    already live, by the partial unique index."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PAY)
    if source is not None:
        insert = insert.from_select(columns, source)
    return insert.on_conflict_do_nothing(
        index_elements=["enrolment_id", "period"], index_where=LIVE_PREDICATE
    )


def insert_ignoring_live(select: sa.Select, columns: list[str]) -> int:
    """INSERT ... SELECT into payments, skipping any (enrolment, period) already live."""
    statement = insert_unless_live(select, columns)
    # psycopg reports no row count for INSERT ... SELECT unless asked to keep it.
    return db.session.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def excluded_by_staff(batch: Batch, period: date) -> list[int]:
    """Enrolments staff excluded from this batch for ``period``: drawing up again skips them
    (a handful at most, so a plain NOT IN and no anti-join)."""
    return list(
        db.session.scalars(
            sa.select(PAY.c.enrolment_id).where(
                PAY.c.batch_id == batch.id,
                PAY.c.period == period,
                PAY.c.status == PaymentStatus.EXCLUDED.value,
                PAY.c.exception == ExceptionCode.MANUAL.value,
            )
        )
    )
