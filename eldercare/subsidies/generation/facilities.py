"""A facility program's payments for a period: few rows, each counting the facility,
its occupied beds, the people it serves or its meals, so computed row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from eldercare.beds.models import Stay
from eldercare.core.db import utcnow
from eldercare.daycare.models import Meal, Member
from eldercare.extensions import db
from eldercare.ratings.models import Grade
from eldercare.subsidies import periods, rules
from eldercare.subsidies.generation.sql import PAY, excluded_by_staff, insert_unless_live
from eldercare.subsidies.models import (
    LIVE_PAYMENT,
    Basis,
    Batch,
    Enrolment,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
)


@dataclass(frozen=True)
class FacilityAmount:
    enrolment_id: int
    region_id: int
    facility_id: int
    rule_id: int
    quantity: int
    amount_fen: int


def star_level_on(facility_id: int, day: date) -> int | None:
    """The facility's star level in force on ``day`` (a later grade supersedes an earlier
    one still running: ratings.grades.in_force_on)."""
    from eldercare.ratings.grades import in_force_on

    return db.session.scalar(
        sa.select(Grade.level).where(Grade.facility_id == facility_id, in_force_on(day)).limit(1)
    )


def _quantity(basis: str, facility_id: int, period: date, reference: date, frequency: str):
    if basis == Basis.FACILITY.value:
        return 1
    if basis == Basis.OCCUPIED_BED.value:
        return db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Stay.bed_id))).where(
                Stay.facility_id == facility_id,
                Stay.admitted_on <= reference,
                sa.or_(Stay.discharged_on.is_(None), Stay.discharged_on > reference),
            )
        )
    if basis == Basis.PERSON_SERVED.value:
        return db.session.scalar(
            sa.select(sa.func.count()).where(
                Member.facility_id == facility_id,
                Member.joined_on <= reference,
                sa.or_(Member.left_on.is_(None), Member.left_on >= reference),
            )
        )
    end = periods.next_period(frequency, period)
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Meal.facility_id == facility_id,
            Meal.subsidised.is_(True),
            Meal.day >= period,
            Meal.day < end,
        )
    )


def facility_amounts(program: Program, period: date, enrolment_ids=None) -> list[FacilityAmount]:
    """What each active enrolment of a facility program is owed for ``period``."""
    table = program.table_for(period)
    if table is None:
        return []
    reference = periods.facility_reference(program.frequency, program.timing, period)
    query = sa.select(Enrolment).where(
        Enrolment.program_id == program.id, Enrolment.payable_in(period)
    )
    if enrolment_ids is not None:
        query = query.where(Enrolment.id.in_(enrolment_ids))
    out = []
    for enrolment in db.session.scalars(query):
        facts = rules.Facts(star_level=star_level_on(enrolment.facility_id, reference))
        rule = rules.rule_for(table.rules, facts)
        if rule is None:
            continue
        quantity = _quantity(
            program.basis, enrolment.facility_id, period, reference, program.frequency
        )
        months = 1 if program.basis == Basis.MEAL.value else program.months
        out.append(
            FacilityAmount(
                enrolment.id,
                enrolment.region_id,
                enrolment.facility_id,
                rule.id,
                quantity,
                rule.amount_fen * quantity * months,
            )
        )
    return out


def add_facilities(batch: Batch, program: Program, period: date, kind: str) -> int:
    owed = None
    if kind != PaymentKind.REGULAR:
        owed = sa.select(Enrolment.id).where(
            Enrolment.program_id == program.id, Enrolment.arrears_from <= period
        )
    live = set(
        db.session.scalars(
            sa.select(Payment.enrolment_id).where(
                Payment.program_id == program.id,
                Payment.period == period,
                Payment.status.in_(LIVE_PAYMENT),
                Payment.kind != PaymentKind.REVERSAL.value,
            )
        )
    )
    left_out = set(excluded_by_staff(batch, period))
    rows = [
        {
            "batch_id": batch.id,
            "enrolment_id": a.enrolment_id,
            "program_id": program.id,
            "region_id": a.region_id,
            "facility_id": a.facility_id,
            "period": period,
            "kind": kind,
            "status": PaymentStatus.PENDING.value,
            "rule_id": a.rule_id,
            "quantity": a.quantity,
            "amount_fen": a.amount_fen,
            "created_at": utcnow(),
        }
        for a in facility_amounts(program, period, owed)
        if a.enrolment_id not in live and a.enrolment_id not in left_out and a.amount_fen > 0
    ]
    if not rows:
        return 0
    statement = insert_unless_live().returning(PAY.c.id)
    return len(db.session.execute(statement, rows).all())
