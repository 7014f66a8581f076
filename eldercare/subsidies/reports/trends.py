"""What the programs paid out month by month, and whether their batches went to the bank on
time: for a report's chart and table and for the county overview (dashboard.overview), by
the same definitions."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core.db import local_date
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.subsidies import periods
from eldercare.subsidies.models import (
    Batch,
    PaymentStatus,
    Program,
)
from eldercare.subsidies.reports.model import (
    MONTHS,
    PAID_OUT,
    PAY,
    Punctuality,
    R,
    Series,
    in_area,
)


def window(period: date) -> list[date]:
    """The twelve months up to ``period``."""
    return [periods.add_months(period, n) for n in range(1 - MONTHS, 1)]


def amounts_series(programs: list[Program], months: list[date], area: Region) -> list[Series]:
    """Per program, what the batch of each month's period pays out in ``area``."""
    ids = [p.id for p in programs]
    sums: dict[tuple[int, date], int] = {}
    counts: dict[tuple[int, date], int] = {}
    for program_id, period, fen, count in db.session.execute(
        sa.select(Batch.program_id, Batch.period, sa.func.sum(PAY.c.amount_fen), sa.func.count())
        .join(PAY, PAY.c.batch_id == Batch.id)
        .where(
            Batch.program_id.in_(ids),
            Batch.period.between(months[0], months[-1]),
            PAY.c.status.in_(PAID_OUT),
            in_area(area),
        )
        .group_by(Batch.program_id, Batch.period)
    ):
        sums[(program_id, period)] = int(fen or 0)
        counts[(program_id, period)] = int(count)
    return [
        Series(
            p,
            [sums.get((p.id, m), 0) for m in months],
            [counts.get((p.id, m), 0) for m in months],
        )
        for p in programs
    ]


def punctuality(programs: list[Program], months: list[date], today: date) -> list[Punctuality]:
    """Per program, the periods of ``months`` due by now and those sent to the bank on time."""
    ids = [p.id for p in programs]
    batches: dict[int, dict[date, Batch]] = {}
    for batch in db.session.scalars(sa.select(Batch).where(Batch.program_id.in_(ids))):
        batches.setdefault(batch.program_id, {})[batch.period] = batch
    # A batch with nothing to pay (no payment, or only excluded ones) is neither on time nor
    # late: it never goes to the bank.
    paying = set(
        db.session.scalars(
            sa.select(Batch.id).where(
                Batch.program_id.in_(ids),
                sa.exists().where(
                    PAY.c.batch_id == Batch.id, PAY.c.status != PaymentStatus.EXCLUDED.value
                ),
            )
        )
    )
    out = []
    for program in programs:
        own = batches.get(program.id, {})
        if not own:
            out.append(Punctuality(program, 0, 0))
            continue
        start = max(months[0], min(own))
        due = on_time = 0
        for period in periods.periods_between(
            program.frequency, start, periods.add_months(months[-1], 1)
        ):
            batch = own.get(period)
            if batch is not None and batch.id not in paying:
                continue
            deadline = (
                batch.due_on
                if batch is not None
                else periods.due_on(program.frequency, program.timing, program.pay_day, period)
            )
            if batch is not None and batch.exported_at is not None:
                due += 1
                on_time += local_date(batch.exported_at) <= deadline
            elif deadline < today:
                due += 1
        out.append(Punctuality(program, due, on_time))
    return out


def amounts_by_area(program_ids: list[int], month: date, area: Region) -> dict[str, int]:
    """What the batches of ``month``'s period pay out, by the region code of the
    beneficiary (the drill-down of the overview adds the codes up by area)."""
    if not program_ids:
        return {}
    rows = db.session.execute(
        sa.select(R.c.code, sa.func.sum(PAY.c.amount_fen))
        .select_from(PAY.join(Batch.__table__, Batch.__table__.c.id == PAY.c.batch_id))
        .join(R, R.c.id == PAY.c.region_id)
        .where(
            Batch.__table__.c.program_id.in_(program_ids),
            Batch.__table__.c.period == month,
            PAY.c.status.in_(PAID_OUT),
            in_area(area),
        )
        .group_by(R.c.code)
    )
    return {code: int(fen or 0) for code, fen in rows}
