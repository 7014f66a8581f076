"""Read-only queries behind the subsidy pages: lists limited to the user's scope, the history
and payments of one enrolment, the amount rule that applies to a beneficiary."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from eldercare.core.audit import AuditLog
from eldercare.core.permissions import scope_clause, visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person, id_number_index
from eldercare.ratings.grades import grades_on
from eldercare.regions.models import Level, Region
from eldercare.subsidies import generation, periods, rules
from eldercare.subsidies.models import (
    UNDECIDED_PAYMENT,
    Batch,
    Enrolment,
    EnrolmentStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
    Rule,
    RuleTable,
    program_exclusion,
)
from eldercare.subsidies.operations import enrolments as enrolment_ops

#: Payments that are not paid in a batch: what the batch page lists as exceptions.
EXCEPTION_STATUSES = (PaymentStatus.HELD.value, PaymentStatus.EXCLUDED.value)


def programs_for(user) -> list[Program]:
    return list(
        db.session.scalars(
            visible(Program, user)
            .options(joinedload(Program.region))
            .order_by(Program.region_id, Program.active.desc(), Program.code)
        )
    )


def other_programs(program: Program, user) -> list[Program]:
    """The county's other programs, which this one may exclude."""
    return list(
        db.session.scalars(
            visible(Program, user)
            .where(Program.region_id == program.region_id, Program.id != program.id)
            .order_by(Program.code)
        )
    )


def excluded_by(program: Program) -> list[Program]:
    return list(
        db.session.scalars(
            sa.select(Program)
            .join(program_exclusion, program_exclusion.c.other_id == Program.id)
            .where(program_exclusion.c.program_id == program.id)
            .order_by(Program.code)
        )
    )


def tables_paid_with(program: Program) -> set[int]:
    """Versions of the program's rule table that some payment (of any status) refers to:
    they stay on record."""
    return set(
        db.session.scalars(
            sa.select(sa.distinct(Rule.table_id))
            .join(Payment, Payment.rule_id == Rule.id)
            .where(Payment.program_id == program.id)
        )
    )


def tables_of(program: Program) -> list[RuleTable]:
    """The versions of the program's rule table, newest first, with their rules."""
    return list(
        db.session.scalars(
            sa.select(RuleTable)
            .where(RuleTable.program_id == program.id)
            .options(selectinload(RuleTable.rules))
            .order_by(RuleTable.effective_from.desc())
        )
    )


def frozen_tables(program: Program) -> set[int]:
    """Versions of the program's rule table that a decided payment refers to (each one's
    ``RuleTable.is_frozen``, in one query)."""
    return set(
        db.session.scalars(
            sa.select(sa.distinct(Rule.table_id))
            .join(Payment, Payment.rule_id == Rule.id)
            .join(RuleTable, RuleTable.id == Rule.table_id)
            .where(RuleTable.program_id == program.id, Payment.status.not_in(UNDECIDED_PAYMENT))
        )
    )


def counties_for(user) -> list[Region]:
    """Counties a program can be created for: a county staff member's own, every county for
    an administrator."""
    if user.region is not None:
        county = user.region.county
        return [county] if county is not None else []
    return list(
        db.session.scalars(
            sa.select(Region)
            .where(Region.level == Level.COUNTY.value, Region.abolished_on.is_(None))
            .order_by(Region.code)
        )
    )


def township_of(region: Region | None) -> Region | None:
    """The township a village belongs to (a township or anything above is itself)."""
    node = region
    while node is not None and node.level == Level.VILLAGE.value:
        node = node.parent
    return node


def _looks_like_id_number(text: str) -> bool:
    return len(text) in (15, 18) and text[:-1].isdigit()


def search_enrolments(user, args: dict) -> sa.Select:
    """The enrolments ``user`` may see, filtered by program, status, area and a name (or a
    full ID number, looked up by its blind index, never by decrypting)."""
    stmt = (
        visible(Enrolment, user)
        .outerjoin(Person, Person.id == Enrolment.person_id)
        .outerjoin(Facility, Facility.id == Enrolment.facility_id)
        .options(
            joinedload(Enrolment.person),
            joinedload(Enrolment.facility),
            joinedload(Enrolment.program),
            joinedload(Enrolment.region).joinedload(Region.parent),
        )
    )
    if args.get("program_id"):
        stmt = stmt.where(Enrolment.program_id == args["program_id"])
    if args.get("status"):
        stmt = stmt.where(Enrolment.status == args["status"])
    if args.get("region") is not None:
        stmt = stmt.where(Enrolment.region_id.in_(Region.subtree_ids(args["region"])))
    query = (args.get("q") or "").strip()
    if query and _looks_like_id_number(query.upper()):
        stmt = stmt.where(Person.id_number_index == id_number_index(query.upper()))
    elif query:
        stmt = stmt.where(
            sa.or_(
                Person.name.contains(query, autoescape=True),
                Facility.name.contains(query, autoescape=True),
            )
        )
    return stmt.order_by(Enrolment.id.desc())


def history_of(enrolment: Enrolment) -> list[AuditLog]:
    """The audit entries of one enrolment, oldest first. Whoever may see the enrolment may
    see what happened to it (township staff included, who see no audit log otherwise)."""
    return list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.entity_type == "Enrolment", AuditLog.entity_id == enrolment.id)
            .order_by(AuditLog.at, AuditLog.id)
        )
    )


def payments_of(enrolment: Enrolment, limit: int = 120) -> list[Payment]:
    """The enrolment's payments, newest period first (whoever sees the enrolment sees what
    it was paid; account numbers are not part of what is shown)."""
    return list(
        db.session.scalars(
            sa.select(Payment)
            .where(Payment.enrolment_id == enrolment.id)
            .options(joinedload(Payment.batch))
            .order_by(Payment.period.desc(), Payment.id.desc())
            .limit(limit)
        )
    )


def rule_for(
    enrolment: Enrolment, period: date, star_levels: dict[tuple[int, date], int] | None = None
) -> Rule | None:
    """The row of the program's rule table that applies to the beneficiary for ``period``
    (whatever the enrolment's status: the notice shows it before anyone is paid).
    ``star_levels`` ({(facility id, day): level}, from ``star_levels_for``) spares a list
    the look-up of each facility's star level."""
    program = enrolment.program
    table = program.table_for(period)
    if table is None:
        return None
    if enrolment.person is not None:
        return rules.rule_for(table.rules, enrolment_ops.facts_of(enrolment.person, period))
    reference = periods.facility_reference(program.frequency, program.timing, period)
    if star_levels is not None:
        star_level = star_levels.get((enrolment.facility_id, reference))
    else:  # generation's own star-level lookup, so the page and the batch cannot disagree
        star_level = generation.star_level_on(enrolment.facility_id, reference)
    return rules.rule_for(table.rules, rules.Facts(star_level=star_level))


def star_levels_for(program: Program, enrolments: list[Enrolment]) -> dict[tuple[int, date], int]:
    """{(facility id, day): star level} of the facilities of ``enrolments`` on the day their
    first period counts from, by the same rule as ``generation.star_level_on``: one query
    per distinct day (a notice's applications start in one or two months), not per row."""
    wanted: dict[date, set[int]] = defaultdict(set)
    for enrolment in enrolments:
        if enrolment.facility_id is not None:
            day = periods.facility_reference(
                program.frequency, program.timing, enrolment.start_month
            )
            wanted[day].add(enrolment.facility_id)
    return {
        (facility_id, day): grade.level
        for day, ids in wanted.items()
        for facility_id, grade in grades_on(sorted(ids), day).items()
    }


def in_notice(program: Program, user) -> list[Enrolment]:
    return list(
        db.session.scalars(
            visible(Enrolment, user)
            .where(
                Enrolment.program_id == program.id,
                Enrolment.status == EnrolmentStatus.IN_NOTICE.value,
            )
            .options(
                # the amount rule of each row reads the person's assessments
                joinedload(Enrolment.person).selectinload(Person.assessments),
                joinedload(Enrolment.facility),
                joinedload(Enrolment.region).joinedload(Region.parent),
            )
            .order_by(Enrolment.region_id, Enrolment.id)
        )
    )


def notice_rows(program: Program, user) -> list[tuple[Enrolment, Rule | None]]:
    """The applications in public notice, each with the amount rule of its first period."""
    enrolments = in_notice(program, user)
    star_levels = star_levels_for(program, enrolments)
    return [(e, rule_for(e, e.start_month, star_levels)) for e in enrolments]


def candidates(program: Program, month: date, user) -> sa.Select:
    """The program's candidates of the month that ``user`` may see (township staff: their
    township's)."""
    return (
        enrolment_ops.candidates(program, month)
        .where(scope_clause(Person, user))
        .options(joinedload(Person.region).joinedload(Region.parent))
    )


def facility_choices(program: Program, user) -> list[Facility]:
    return list(
        db.session.scalars(
            visible(Facility, user)
            .where(Facility.region_id.in_(generation.county_region_ids(program)))
            .order_by(Facility.name)
        )
    )


def batches_of(program: Program, user) -> sa.Select:
    return (
        visible(Batch, user)
        .where(Batch.program_id == program.id)
        .options(joinedload(Batch.made_by), joinedload(Batch.approved_by))
        .order_by(Batch.period.desc())
    )


def totals_of(batch_ids: list[int]) -> dict[int, dict[str, tuple[int, int]]]:
    """{batch id: {status: (count, fen)}} for several batches in one query."""
    out: dict[int, dict[str, tuple[int, int]]] = {batch_id: {} for batch_id in batch_ids}
    if not batch_ids:
        return out
    rows = db.session.execute(
        sa.select(
            Payment.batch_id,
            Payment.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0),
        )
        .where(Payment.batch_id.in_(batch_ids))
        .group_by(Payment.batch_id, Payment.status)
    )
    for batch_id, status, count, fen in rows:
        out[batch_id][status] = (count, int(fen))
    return out


def batch_payments(batch: Batch, args: dict) -> sa.Select:
    stmt = (
        sa.select(Payment)
        .where(Payment.batch_id == batch.id)
        .outerjoin(Person, Person.id == Payment.person_id)
        .outerjoin(Facility, Facility.id == Payment.facility_id)
        .options(
            joinedload(Payment.person),
            joinedload(Payment.facility),
            joinedload(Payment.rule),
            joinedload(Payment.enrolment).joinedload(Enrolment.region).joinedload(Region.parent),
        )
    )
    if args.get("status"):
        stmt = stmt.where(Payment.status == args["status"])
    if args.get("kind"):
        stmt = stmt.where(Payment.kind == args["kind"])
    if args.get("q"):
        stmt = stmt.where(
            sa.or_(
                Person.name.contains(args["q"], autoescape=True),
                Facility.name.contains(args["q"], autoescape=True),
            )
        )
    return stmt.order_by(Payment.region_id, Payment.id)


def batch_exceptions(batch: Batch) -> sa.Select:
    """Held and excluded payments, held first (those still need a decision)."""
    return (
        sa.select(Payment)
        .where(Payment.batch_id == batch.id, Payment.status.in_(EXCEPTION_STATUSES))
        .options(joinedload(Payment.person), joinedload(Payment.facility))
        .order_by(
            sa.case((Payment.status == PaymentStatus.HELD.value, 0), else_=1),
            Payment.exception,
            Payment.id,
        )
    )


def payment_in(batch: Batch, payment_id: int) -> Payment | None:
    return db.session.scalar(
        sa.select(Payment).where(Payment.id == payment_id, Payment.batch_id == batch.id)
    )


def period_label(program: Program, period: date) -> str:
    return periods.label(program.frequency, period)


@dataclass
class ApprovalRisks:
    """What the approver of a draft batch should look at before approving (冒领 risk):
    payments into an account held by someone else, one account used by several
    beneficiaries, and how much back pay the batch carries."""

    other_holder: list[Enrolment] = field(default_factory=list)
    other_holder_count: int = 0
    shared_accounts: list[tuple[str, list[str]]] = field(default_factory=list)
    back_pay_count: int = 0
    back_pay_fen: int = 0

    @property
    def any(self) -> bool:
        return bool(self.other_holder_count or self.shared_accounts or self.back_pay_count)


def approval_risks(batch: Batch, limit: int = 20) -> ApprovalRisks:
    """The risks of a batch's payments still to be paid (pending or held), lists cut at
    ``limit`` with their full counts kept."""
    risks = ApprovalRisks()
    open_ = (
        Payment.batch_id == batch.id,
        Payment.status.in_([PaymentStatus.PENDING.value, PaymentStatus.HELD.value]),
    )
    name = sa.func.coalesce(Person.name, Facility.name)
    paid_into = sa.select(Payment.enrolment_id).where(*open_)
    other = (
        sa.select(Enrolment)
        .outerjoin(Person, Person.id == Enrolment.person_id)
        .outerjoin(Facility, Facility.id == Enrolment.facility_id)
        .where(
            Enrolment.id.in_(paid_into),
            Enrolment.account_holder != "",
            Enrolment.account_holder != name,
        )
    )
    risks.other_holder_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(other.subquery())
    )
    risks.other_holder = list(
        db.session.scalars(
            other.options(joinedload(Enrolment.person), joinedload(Enrolment.facility))
            .order_by(Enrolment.id)
            .limit(limit)
        )
    )
    # One account for several beneficiaries: the masked number narrows it down in
    # SQL (the number itself is encrypted), the numbers of those few are compared here.
    E = Enrolment.__table__
    in_batch = paid_into
    suspects = (
        sa.select(E.c.account_masked)
        .where(E.c.id.in_(in_batch), E.c.account_masked != "")
        .group_by(E.c.account_masked)
        .having(sa.func.count(sa.distinct(E.c.id)) > 1)
        .subquery()
    )
    by_number: dict[str, list[str]] = defaultdict(list)
    rows = db.session.execute(
        sa.select(Enrolment)
        .join(suspects, suspects.c.account_masked == Enrolment.account_masked)
        .where(Enrolment.id.in_(in_batch))
        .options(joinedload(Enrolment.person), joinedload(Enrolment.facility))
        .order_by(Enrolment.id)
    ).scalars()
    masked: dict[str, str] = {}
    for enrolment in rows:
        if enrolment.account_number:
            key = enrolment.account_number.replace(" ", "")
            by_number[key].append(enrolment.beneficiary_name)
            masked[key] = enrolment.account_masked
    risks.shared_accounts = [
        (masked[key], names) for key, names in by_number.items() if len(names) > 1
    ][:limit]
    count, fen = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0)).where(
            *open_, Payment.kind == PaymentKind.BACK_PAY.value
        )
    ).one()
    risks.back_pay_count, risks.back_pay_fen = count, int(fen)
    return risks


def roster_payments(batch: Batch) -> list[Payment]:
    """The payments a batch's roster lists: all but those excluded, by township, village
    and name (the order the paper is signed in)."""
    return list(
        db.session.scalars(
            sa.select(Payment)
            .join(Enrolment, Enrolment.id == Payment.enrolment_id)
            .join(Region, Region.id == Enrolment.region_id)
            .outerjoin(Person, Person.id == Payment.person_id)
            .outerjoin(Facility, Facility.id == Payment.facility_id)
            .where(Payment.batch_id == batch.id, Payment.status != PaymentStatus.EXCLUDED.value)
            .options(
                joinedload(Payment.person),
                joinedload(Payment.facility),
                joinedload(Payment.enrolment)
                .joinedload(Enrolment.region)
                .joinedload(Region.parent),
            )
            .order_by(Region.code, sa.func.coalesce(Person.name, Facility.name), Payment.period)
        )
    )
