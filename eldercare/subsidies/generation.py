"""Drawing up a batch: set-based INSERT ... SELECT for people, exceptions by UPDATE.

A person program's batch is one statement per period: every active enrolment whose person
matches a rule of the table in force is inserted with that rule's amount; the partial unique
index on (enrolment, period) turns a repeated or concurrent run into a no-op
(ON CONFLICT DO NOTHING). Facility programs are few rows and count beds, members or meals,
so they are computed row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from eldercare.beds.models import Stay
from eldercare.core import resident_id
from eldercare.core.db import local_today, utcnow
from eldercare.daycare.models import Meal, Member
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person
from eldercare.ratings.models import Grade
from eldercare.regions.models import Region
from eldercare.subsidies import periods, rules
from eldercare.subsidies.models import (
    LIVE_PAYMENT,
    Basis,
    Batch,
    BatchStatus,
    Enrolment,
    EnrolmentStatus,
    ExceptionCode,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
    ProgramKind,
    RuleTable,
    program_exclusion,
)

LIVE_PREDICATE = sa.text(
    "status IN ('pending', 'held', 'approved', 'exported', 'paid') AND kind <> 'reversal'"
)

E = Enrolment.__table__
P = Person.__table__
PAY = Payment.__table__


def county_region_ids(program: Program) -> sa.Select:
    return sa.select(Region.id).where(Region.code.startswith(program.region.prefix))


def _ability_before(period: date):
    """The person's ability level from the latest assessment before the period."""
    return (
        sa.select(AbilityAssessment.level)
        .where(AbilityAssessment.person_id == P.c.id, AbilityAssessment.assessed_on < period)
        .order_by(AbilityAssessment.assessed_on.desc(), AbilityAssessment.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _rule_condition(rule, period: date, ability):
    reference = periods.age_reference(period)
    born_by, born_after = rules.birth_bounds(rule.min_age, rule.max_age, reference)
    parts = []
    if born_by is not None:
        parts.append(P.c.birth_date <= born_by)
    if born_after is not None:
        parts.append(P.c.birth_date > born_after)
    if rule.economic_statuses:
        parts.append(P.c.economic_status.in_(rule.economic_statuses))
    if rule.ability_levels:
        parts.append(ability.in_(rule.ability_levels))
    return sa.and_(sa.true(), *parts)


def eligible_people(
    program: Program, period: date, table: RuleTable, *, owed_only: bool = False
) -> sa.Select | None:
    """SELECT enrolment_id, region_id, person_id, rule_id, amount_fen of every enrolment of a
    person program that is payable for ``period`` under ``table``; ``owed_only`` limits it
    to enrolments with arrears from that period on (back pay)."""
    if not table.rules:
        return None
    needs_ability = any(rule.ability_levels for rule in table.rules)
    ability = _ability_before(period) if needs_ability else None
    conditions = [(rule, _rule_condition(rule, period, ability)) for rule in table.rules]
    months = program.months
    where = [
        E.c.program_id == program.id,
        Enrolment.payable_in(period, E.c),
        sa.or_(P.c.death_date.is_(None), P.c.death_date >= period),
        P.c.region_id.in_(county_region_ids(program)),
        sa.or_(*(condition for _, condition in conditions)),
    ]
    if owed_only:
        where.append(E.c.arrears_from <= period)
    return (
        sa.select(
            E.c.id.label("enrolment_id"),
            E.c.region_id,
            E.c.person_id,
            sa.case(*((c, r.id) for r, c in conditions)).label("rule_id"),
            sa.case(*((c, r.amount_fen * months) for r, c in conditions)).label("amount_fen"),
        )
        .select_from(E.join(P, P.c.id == E.c.person_id))
        .where(*where)
    )


def _insert_unless_live(source=None, columns=None):
    """INSERT into payments (from ``source`` when given) that skips any (enrolment, period)
    already live, by the partial unique index."""
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(PAY)
    if source is not None:
        insert = insert.from_select(columns, source)
    return insert.on_conflict_do_nothing(
        index_elements=["enrolment_id", "period"], index_where=LIVE_PREDICATE
    )


def _insert_ignoring_live(select: sa.Select, columns: list[str]) -> int:
    """INSERT ... SELECT into payments, skipping any (enrolment, period) already live."""
    statement = _insert_unless_live(select, columns)
    # psycopg reports no row count for INSERT ... SELECT unless asked to keep it.
    return db.session.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def _not_live(period: date):
    return ~sa.exists().where(
        PAY.c.enrolment_id == E.c.id,
        PAY.c.period == period,
        PAY.c.status.in_(LIVE_PAYMENT),
        PAY.c.kind != PaymentKind.REVERSAL.value,
    )


PERSON_COLUMNS = [
    "batch_id",
    "enrolment_id",
    "program_id",
    "region_id",
    "person_id",
    "period",
    "kind",
    "status",
    "rule_id",
    "quantity",
    "amount_fen",
    "created_at",
]


def _left_out(batch: Batch, period: date) -> list[int]:
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


def _add_people(batch: Batch, program: Program, period: date, kind: str) -> int:
    table = program.table_for(period)
    if table is None:
        return 0
    eligible = eligible_people(program, period, table, owed_only=kind != PaymentKind.REGULAR)
    if eligible is None:
        return 0
    left_out = _left_out(batch, period)
    if left_out:
        eligible = eligible.where(E.c.id.not_in(left_out))
    # No NOT EXISTS on the payments here: the conflict clause skips the periods already live
    # through the partial unique index, while an anti-join into the table being written is
    # planned as a scan per row (quadratic at 300,000 rows).
    sub = eligible.subquery()
    select = sa.select(
        sa.literal(batch.id),
        sub.c.enrolment_id,
        sa.literal(program.id),
        sub.c.region_id,
        sub.c.person_id,
        sa.literal(period, sa.Date),
        sa.literal(kind),
        sa.literal(PaymentStatus.PENDING.value),
        sub.c.rule_id,
        sa.literal(1),
        sub.c.amount_fen,
        sa.literal(utcnow(), Payment.created_at.type),
    ).where(sub.c.enrolment_id.is_not(None))  # SQLite's upsert needs a WHERE to parse
    return _insert_ignoring_live(select, PERSON_COLUMNS)


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


def _add_facilities(batch: Batch, program: Program, period: date, kind: str) -> int:
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
    left_out = set(_left_out(batch, period))
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
    statement = _insert_unless_live().returning(PAY.c.id)
    return len(db.session.execute(statement, rows).all())


def _add(batch: Batch, program: Program, period: date, kind: str) -> int:
    if program.pays_people:
        return _add_people(batch, program, period, kind)
    return _add_facilities(batch, program, period, kind)


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
    return _insert_ignoring_live(select, columns)


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


# --- exceptions ---------------------------------------------------------------------------


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
