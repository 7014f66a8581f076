"""A batch checked again: open payments no longer payable are excluded with the reason,
suspicious ones held until someone overrides them. Set-based UPDATEs.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core import resident_id
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.subsidies.generation.facilities import facility_amounts
from eldercare.subsidies.generation.people import eligible_people
from eldercare.subsidies.generation.sql import PAY, E, county_region_ids
from eldercare.subsidies.models import (
    Batch,
    Enrolment,
    EnrolmentStatus,
    ExceptionCode,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
    ProgramKind,
    program_exclusion,
)


def _open_payments(batch: Batch):
    return sa.and_(
        PAY.c.batch_id == batch.id,
        PAY.c.status.in_([PaymentStatus.PENDING.value, PaymentStatus.HELD.value]),
    )


def exclude_ineligible(batch: Batch) -> int:
    """Re-check every open payment against the data as it is now; what would no longer be
    generated with the same amount is excluded, with the reason. Returns how many."""
    program = batch.program
    excluded = 0
    open_periods = db.session.scalars(
        sa.select(sa.distinct(PAY.c.period)).where(
            _open_payments(batch), PAY.c.kind != PaymentKind.REISSUE.value
        )
    ).all()
    for period in open_periods:
        if program.pays_people:
            table = program.table_for(period)
            eligible = eligible_people(program, period, table) if table else None
            still = sa.false()
            if eligible is not None:
                eligible = eligible.subquery()
                still = sa.exists().where(
                    eligible.c.enrolment_id == PAY.c.enrolment_id,
                    eligible.c.amount_fen == PAY.c.amount_fen,
                )
            stale = db.session.execute(
                sa.select(PAY.c.id, PAY.c.enrolment_id).where(
                    _open_payments(batch),
                    PAY.c.period == period,
                    PAY.c.kind != PaymentKind.REISSUE.value,
                    ~still,
                )
            ).all()
        else:
            owed = {a.enrolment_id: a.amount_fen for a in facility_amounts(program, period)}
            stale = [
                row
                for row in db.session.execute(
                    sa.select(PAY.c.id, PAY.c.enrolment_id, PAY.c.amount_fen).where(
                        _open_payments(batch),
                        PAY.c.period == period,
                        PAY.c.kind != PaymentKind.REISSUE.value,
                    )
                )
                if owed.get(row.enrolment_id) != row.amount_fen
            ]
        for payment_id, code in _reasons(program, period, [row.id for row in stale]):
            db.session.execute(
                sa.update(PAY)
                .where(PAY.c.id == payment_id)
                .values(status=PaymentStatus.EXCLUDED.value, exception=code)
            )
            excluded += 1
    excluded += _exclude_inactive_reissues(batch)
    return excluded


def _reasons(program: Program, period: date, payment_ids: list[int]):
    """Why each stale payment is no longer payable, the plainest reason first."""
    if not payment_ids:
        return []
    in_county = Person.region_id.in_(county_region_ids(program))
    rows = db.session.execute(
        sa.select(
            Payment.id,
            sa.case((Enrolment.payable_in(period), True), else_=False),
            Person.death_date,
            sa.case((in_county, True), else_=False),
        )
        .join(Enrolment, Enrolment.id == Payment.enrolment_id)
        .outerjoin(Person, Person.id == Payment.person_id)
        .where(Payment.id.in_(payment_ids))
    ).all()
    out = []
    for payment_id, payable, death_date, lives_here in rows:
        if not payable:
            code = ExceptionCode.NOT_ACTIVE
        elif death_date is not None and death_date < period:
            code = ExceptionCode.DECEASED
        elif program.pays_people and not lives_here:
            code = ExceptionCode.MOVED_OUT
        else:
            code = ExceptionCode.AMOUNT_CHANGED
        out.append((payment_id, code.value))
    return out


def _exclude_inactive_reissues(batch: Batch) -> int:
    inactive = sa.select(E.c.id).where(
        E.c.id == PAY.c.enrolment_id, ~Enrolment.payable_in(PAY.c.period, E.c)
    )
    return (
        db.session.execute(
            sa.update(PAY)
            .where(
                _open_payments(batch),
                PAY.c.kind == PaymentKind.REISSUE.value,
                sa.exists(inactive),
            )
            .values(status=PaymentStatus.EXCLUDED.value, exception=ExceptionCode.NOT_ACTIVE.value)
        ).rowcount
        or 0
    )


def hold_suspicious(batch: Batch) -> int:
    """Hold pending payments that look wrong until someone overrides them (audited):
    the same person in another program of the same kind (in any county) or in a program that
    excludes this one, no account to pay into, a birth date contradicting the ID number."""
    program = batch.program
    other = sa.alias(E, "other")
    other_program = Program.__table__.alias("other_program")
    also_enrolled = sa.select(other.c.id).where(
        other.c.person_id == PAY.c.person_id,
        other.c.id != PAY.c.enrolment_id,
        other.c.status.in_([EnrolmentStatus.ACTIVE.value, EnrolmentStatus.SUSPENDED.value]),
    )
    same_kind = also_enrolled.join_from(
        other, other_program, other_program.c.id == other.c.program_id
    ).where(other_program.c.kind == program.kind)
    excluded_programs = sa.select(program_exclusion.c.other_id).where(
        program_exclusion.c.program_id == program.id
    )
    excluding = also_enrolled.where(other.c.program_id.in_(excluded_programs))
    no_account = sa.select(E.c.id).where(
        sa.or_(E.c.account_number.is_(None), E.c.account_holder == "")
    )
    unheld = sa.and_(
        PAY.c.batch_id == batch.id,
        PAY.c.status == PaymentStatus.PENDING.value,
        PAY.c.override_by_id.is_(None),
    )
    held = 0
    checks = [
        (ExceptionCode.NO_ACCOUNT, PAY.c.enrolment_id.in_(no_account)),
    ]
    if program.pays_people:
        checks = [
            (ExceptionCode.DUPLICATE, sa.exists(same_kind)),
            (ExceptionCode.EXCLUDED_PROGRAM, sa.exists(excluding)),
            *checks,
        ]
    for code, condition in checks:
        held += (
            db.session.execute(
                sa.update(PAY)
                .where(unheld, condition)
                .values(status=PaymentStatus.HELD.value, exception=code.value)
            ).rowcount
            or 0
        )
    if program.kind == ProgramKind.AGE_ALLOWANCE.value or _asks_age(program):
        held += _hold_id_mismatches(batch)
    return held


def _asks_age(program: Program) -> bool:
    return any(
        rule.min_age is not None or rule.max_age is not None
        for table in program.tables
        for rule in table.rules
    )


def _hold_id_mismatches(batch: Batch) -> int:
    """Age that contradicts the ID number. Set-based first: only people whose register birth
    date differs from the one verified against their ID number at enrolment are looked at
    again, by decrypting the ID number here (never in SQL). A new ID number that carries the
    register's date is verified anew; anything else is held."""
    rows = db.session.execute(
        sa.select(Payment.id, Payment.enrolment_id, Person.id_number, Person.birth_date)
        .join(Person, Person.id == Payment.person_id)
        .join(Enrolment, Enrolment.id == Payment.enrolment_id)
        .where(
            Payment.batch_id == batch.id,
            Payment.status == PaymentStatus.PENDING.value,
            Payment.override_by_id.is_(None),
            sa.or_(Enrolment.id_birth_date.is_(None), Enrolment.id_birth_date != Person.birth_date),
        )
    ).all()
    wrong, verified = [], {}
    for payment_id, enrolment_id, number, born in rows:
        try:
            carried = resident_id.parse(number).birth_date
        except ValueError:
            carried = None
        if carried == born:
            verified[enrolment_id] = carried
        else:
            wrong.append(payment_id)
    for enrolment_id, carried in verified.items():
        db.session.execute(sa.update(E).where(E.c.id == enrolment_id).values(id_birth_date=carried))
    for start in range(0, len(wrong), 500):
        db.session.execute(
            sa.update(PAY)
            .where(PAY.c.id.in_(wrong[start : start + 500]))
            .values(status=PaymentStatus.HELD.value, exception=ExceptionCode.ID_MISMATCH.value)
        )
    return len(wrong)
