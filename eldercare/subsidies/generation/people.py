"""A person program's payments for a period: one INSERT ... SELECT of every payable
enrolment whose person matches a rule of the table in force, with that rule's amount.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core.db import utcnow
from eldercare.people.models import AbilityAssessment
from eldercare.subsidies import periods, rules
from eldercare.subsidies.generation.sql import (
    E,
    P,
    county_region_ids,
    excluded_by_staff,
    insert_ignoring_live,
)
from eldercare.subsidies.models import (
    Batch,
    Enrolment,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
    RuleTable,
)


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


def add_people(batch: Batch, program: Program, period: date, kind: str) -> int:
    table = program.table_for(period)
    if table is None:
        return 0
    eligible = eligible_people(program, period, table, owed_only=kind != PaymentKind.REGULAR)
    if eligible is None:
        return 0
    left_out = excluded_by_staff(batch, period)
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
    return insert_ignoring_live(select, PERSON_COLUMNS)
