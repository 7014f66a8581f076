"""What a batch is still missing: its period, back pay owed for earlier periods already
due, and re-issues of failed or returned payments.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from eldercare.subsidies import periods
from eldercare.subsidies.generation.facilities import add_facilities
from eldercare.subsidies.generation.people import add_people
from eldercare.subsidies.generation.sql import PAY, E, insert_ignoring_live
from eldercare.subsidies.models import (
    Batch,
    BatchStatus,
    Enrolment,
    EnrolmentStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
)


def _add(batch: Batch, program: Program, period: date, kind: str) -> int:
    if program.pays_people:
        return add_people(batch, program, period, kind)
    return add_facilities(batch, program, period, kind)


def owed_periods(program: Program, before: date) -> list[date]:
    """Earlier periods some enrolment of the program may still be owed."""
    earliest = db.session.scalar(
        sa.select(sa.func.min(Enrolment.arrears_from)).where(
            Enrolment.program_id == program.id,
            Enrolment.status.in_(
                [
                    EnrolmentStatus.ACTIVE.value,
                    EnrolmentStatus.SUSPENDED.value,
                    EnrolmentStatus.STOPPED.value,
                ]
            ),
            Enrolment.arrears_from < before,
        )
    )
    return periods.periods_between(program.frequency, earliest, before) if earliest else []


def add_reissues(batch: Batch, program: Program) -> int:
    """Failed or returned payments marked for re-issue, sent again with today's account."""
    original = sa.alias(PAY, "original")
    select = (
        sa.select(
            sa.literal(batch.id),
            original.c.enrolment_id,
            original.c.program_id,
            original.c.region_id,
            original.c.person_id,
            original.c.facility_id,
            original.c.period,
            sa.literal(PaymentKind.REISSUE.value),
            sa.literal(PaymentStatus.PENDING.value),
            original.c.rule_id,
            original.c.quantity,
            original.c.amount_fen,
            original.c.id,
            sa.literal(utcnow(), Payment.created_at.type),
        )
        .select_from(original.join(E, E.c.id == original.c.enrolment_id))
        .where(
            original.c.program_id == program.id,
            original.c.status.in_([PaymentStatus.FAILED.value, PaymentStatus.RETURNED.value]),
            original.c.resolution == "reissue",
            Enrolment.payable_in(original.c.period, E.c),
            # a period paid meanwhile is skipped by the conflict clause
            ~sa.exists().where(PAY.c.reissue_of_id == original.c.id),
        )
    )
    columns = [
        "batch_id",
        "enrolment_id",
        "program_id",
        "region_id",
        "person_id",
        "facility_id",
        "period",
        "kind",
        "status",
        "rule_id",
        "quantity",
        "amount_fen",
        "reissue_of_id",
        "created_at",
    ]
    return insert_ignoring_live(select, columns)


def back_pay_periods(program: Program, before: date, today: date) -> list[date]:
    """The earlier periods a batch may pay as back pay: those owed whose money was due by
    ``today``, or whose own batch is already approved. A period not yet due is left to its
    own batch (paid there as usual), never taken by a later one."""
    owed = owed_periods(program, before)
    if not owed:
        return []
    frozen = set(
        db.session.scalars(
            sa.select(Batch.period).where(
                Batch.program_id == program.id,
                Batch.period.in_(owed),
                Batch.status != BatchStatus.DRAFT.value,
            )
        )
    )
    return [
        p
        for p in owed
        if p in frozen
        or periods.due_on(program.frequency, program.timing, program.pay_day, p) <= today
    ]


def fill(batch: Batch, today: date | None = None) -> int:
    """Add whatever the batch is still missing: the period itself, back pay owed for
    earlier periods already due, and re-issues. Returns the number of payments added."""
    program = batch.program
    added = _add(batch, program, batch.period, PaymentKind.REGULAR.value)
    for period in back_pay_periods(program, batch.period, today or local_today()):
        added += _add(batch, program, period, PaymentKind.BACK_PAY.value)
    return added + add_reissues(batch, program)
