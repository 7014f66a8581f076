"""What a life event stops: a beneficiary who died or moved out of the county is paid no
period after the one it happened in (that period is due in full); applications still being
decided are refused; draft batches drop the person's payments for the later periods (a
draft is not yet money); payments already approved, sent or paid for them are listed for
recovery (追回) as reversal entries, the payment itself never edited. A lost 低保/特困
status or a new ability level stops, from the next period, the enrolments no rule of their
program pays any more.

One operation for the registry's event (``events.py``) and for the nightly repair sweep
(``repair_departed``); both are idempotent: what is already done is not done again.
Operations add and flush; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.resident_id import age_on
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, Person
from eldercare.subsidies import periods, rules
from eldercare.subsidies.models import (
    OPEN_ENROLMENT,
    Batch,
    BatchStatus,
    Enrolment,
    EnrolmentStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
    Recovery,
    RecoveryStatus,
    Rule,
    StopReason,
)
from eldercare.subsidies.operations.batches import lock_batch
from eldercare.subsidies.operations.enrolment_changes import end_payments
from eldercare.subsidies.operations.enrolments import transition
from eldercare.subsidies.operations.payments import reversal_entry

#: The audit note of what the repair sweep does (the event should have done it).
REPAIR_NOTE = "repair"
#: Applications not yet decided: refused when the person dies or leaves.
UNDECIDED = (
    EnrolmentStatus.APPLIED.value,
    EnrolmentStatus.REVIEWED.value,
    EnrolmentStatus.IN_NOTICE.value,
)
#: Enrolments being paid (or paused): stopped when their rules no longer cover the person.
BEING_PAID = (EnrolmentStatus.ACTIVE.value, EnrolmentStatus.SUSPENDED.value)
#: Payments that are money already (approved: frozen in a batch going to the bank).
MADE = (PaymentStatus.APPROVED.value, PaymentStatus.EXPORTED.value, PaymentStatus.PAID.value)
#: Payments that have left for the bank.
SENT = (PaymentStatus.EXPORTED.value, PaymentStatus.PAID.value)


@dataclass
class Stop:
    """An enrolment that ended: stopped from ``stop_month``, or refused (an application)."""

    enrolment: Enrolment
    stop_month: date | None  # None: an application refused


@dataclass
class Followed:
    """What following one event did (nothing, when called again)."""

    reason: str
    on: date
    stops: list[Stop] = field(default_factory=list)
    #: {program: how many draft payments were dropped}
    dropped: dict[Program, int] = field(default_factory=dict)
    recoveries: list[Recovery] = field(default_factory=list)
    #: Enrolments still paid at another amount from a period: (enrolment, period, rule).
    new_amounts: list[tuple[Enrolment, date, Rule]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.stops) + sum(self.dropped.values()) + len(self.recoveries)


def first_unpaid(program: Program, on: date) -> date:
    """The first period not paid after something happened ``on``: the next one (the period
    it happened in is due in full)."""
    return periods.next_period(program.frequency, periods.period_containing(program.frequency, on))


def departure_of(person: Person) -> tuple[str, date] | None:
    """Why and since when the county pays the person nothing more: the death or the move out
    of the county, whichever came first; None while the person lives in the county."""
    died, moved = person.death_date, person.moved_out_on
    if moved is not None and (died is None or moved < died):
        return StopReason.MOVED_OUT.value, moved
    if died is not None:
        return StopReason.DEATH.value, died
    return None


def _departure_day():
    """SQL of ``departure_of``'s day."""
    return sa.case(
        (
            sa.and_(
                Person.moved_out_on.is_not(None),
                sa.or_(Person.death_date.is_(None), Person.moved_out_on < Person.death_date),
            ),
            Person.moved_out_on,
        ),
        else_=Person.death_date,
    )


def _not_reversed():
    reversal = aliased(Payment)
    return ~sa.exists().where(reversal.reverses_id == Payment.id)


# --- a death or a move out ---------------------------------------------------------------------


def follow_departure(person: Person, by, *, repair: bool = False) -> Followed | None:
    """Stop, refuse, drop and list for recovery what the person's death (or move out of the
    county) leaves; None while the person lives in the county. ``repair``: the sweep, which
    locks the person as the registry's writer does and notes its audit entries."""
    if repair:
        person = db.session.scalar(
            sa.select(Person)
            .where(Person.id == person.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    found = departure_of(person)
    if found is None:
        return None
    reason, on = found
    note = REPAIR_NOTE if repair else ""
    out = Followed(reason, on)
    day_key = "died" if reason == StopReason.DEATH.value else "moved_out_on"
    for enrolment in _open_enrolments(person):
        if enrolment.status in UNDECIDED:
            enrolment.status = EnrolmentStatus.REJECTED.value
            enrolment.decision_note = reason
            transition(
                enrolment,
                "refused",
                by,
                reason=reason,
                audit_note=note,
                **{day_key: on.isoformat()},
            )
            out.stops.append(Stop(enrolment, None))
        else:
            stop_month = first_unpaid(enrolment.program, on)
            end_payments(enrolment, reason, stop_month, "", by, audit_note=note)
            out.stops.append(Stop(enrolment, stop_month))
    out.dropped = drop_drafts(Payment.person_id == person.id, Payment.period > on, by=by, note=note)
    out.recoveries = _list_recoveries(person, reason, on, by, note)
    db.session.flush()
    return out


def _open_enrolments(person: Person) -> list[Enrolment]:
    return list(
        db.session.scalars(
            sa.select(Enrolment)
            .where(
                Enrolment.person_id == person.id,
                Enrolment.status.in_([s.value for s in OPEN_ENROLMENT]),
            )
            .order_by(Enrolment.id)
            .with_for_update()
        )
    )


def drop_drafts(*where, by=None, note: str = "") -> dict[Program, int]:
    """Delete the payments matching ``where`` that sit in draft batches (each batch locked
    first, as a generation locks it), each deletion on record; {program: count}."""

    def in_drafts():
        return (
            sa.select(Payment)
            .join(Batch, Batch.id == Payment.batch_id)
            .where(Batch.status == BatchStatus.DRAFT.value, *where)
        )

    found = in_drafts().subquery()
    batch_ids = db.session.scalars(sa.select(sa.distinct(found.c.batch_id))).all()
    for batch_id in sorted(batch_ids):
        lock_batch(db.session.get(Batch, batch_id))
    dropped: dict[Program, int] = {}
    for payment in db.session.scalars(in_drafts().order_by(Payment.id)).all():
        audit.record(
            "subsidies.payment_dropped",
            payment,
            actor=by,
            changes={
                "batch_id": payment.batch_id,
                "period": payment.period.isoformat(),
                "status": payment.status,
                "amount_fen": payment.amount_fen,
            },
            note=note,
        )
        dropped[payment.program] = dropped.get(payment.program, 0) + 1
        db.session.delete(payment)
    db.session.flush()
    return dropped


def _list_recoveries(person: Person, reason: str, on: date, by, note: str) -> list[Recovery]:
    """A reversal entry and a recovery for each payment made for a period after ``on`` that
    has none yet; the payment is left as it is."""
    made = db.session.scalars(
        sa.select(Payment)
        .where(
            Payment.person_id == person.id,
            Payment.status.in_(MADE),
            Payment.kind != PaymentKind.REVERSAL.value,
            Payment.period > on,
            _not_reversed(),
        )
        .order_by(Payment.period, Payment.id)
    ).all()
    why = _(
        "To recover: paid for a period after %(what)s on %(day)s.",
        what=_("the death") if reason == StopReason.DEATH.value else _("the move out"),
        day=on.isoformat(),
    )
    listed = []
    for payment in made:
        entry = reversal_entry(payment, why)
        recovery = Recovery(
            payment=payment,
            reversal=entry,
            region_id=payment.region_id,
            person_id=person.id,
            reason=reason,
            left_on=on,
            status=RecoveryStatus.TO_RECOVER.value,
            created_at=utcnow(),
        )
        db.session.add_all([entry, recovery])
        db.session.flush()
        audit.record(
            "subsidies.recovery_listed",
            recovery,
            actor=by,
            changes={
                "payment_id": payment.id,
                "period": payment.period.isoformat(),
                "status": payment.status,
                "amount_fen": payment.amount_fen,
                "reason": reason,
                "left_on": on.isoformat(),
            },
            note=note,
        )
        listed.append(recovery)
    return listed


def sent_after(person: Person, on: date) -> int:
    """How many of the person's payments for periods after ``on`` have left for the bank."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Payment)
        .where(
            Payment.person_id == person.id,
            Payment.status.in_(SENT),
            Payment.kind != PaymentKind.REVERSAL.value,
            Payment.period > on,
        )
    )


def departed_to_repair() -> list[Person]:
    """The dead and the moved out whose event left something: an open enrolment, a draft
    payment for a later period, a payment made for a later period not listed for recovery
    (none when every event was answered)."""
    left = _departure_day()
    gone = Person.id.in_(
        sa.select(Person.id).where(
            sa.or_(Person.death_date.is_not(None), Person.moved_out_on.is_not(None))
        )
    )
    open_enrolment = (
        sa.select(Enrolment.person_id)
        .join(Person, Person.id == Enrolment.person_id)
        .where(gone, Enrolment.status.in_([s.value for s in OPEN_ENROLMENT]))
    )
    drafted = (
        sa.select(Payment.person_id)
        .join(Person, Person.id == Payment.person_id)
        .join(Batch, Batch.id == Payment.batch_id)
        .where(gone, Batch.status == BatchStatus.DRAFT.value, Payment.period > left)
    )
    unlisted = (
        sa.select(Payment.person_id)
        .join(Person, Person.id == Payment.person_id)
        .where(
            gone,
            Payment.status.in_(MADE),
            Payment.kind != PaymentKind.REVERSAL.value,
            Payment.period > left,
            _not_reversed(),
        )
    )
    ids = sa.union(open_enrolment, drafted, unlisted).subquery()
    return list(
        db.session.scalars(
            sa.select(Person).where(Person.id.in_(sa.select(ids.c[0]))).order_by(Person.id)
        )
    )


def repair_departed() -> int:
    """The repair sweep: what the events of the dead and the moved out left, done with the
    same operation (audited with the note ``repair``); how many things it repaired."""
    return sum(
        followed.count
        for person in departed_to_repair()
        if (followed := follow_departure(person, None, repair=True)) is not None
    )


# --- a lost status, a new ability level --------------------------------------------------------


def _ability_before(person: Person, period: date) -> str | None:
    return db.session.scalar(
        sa.select(AbilityAssessment.level)
        .where(AbilityAssessment.person_id == person.id, AbilityAssessment.assessed_on < period)
        .order_by(AbilityAssessment.assessed_on.desc(), AbilityAssessment.id.desc())
        .limit(1)
    )


def follow_rules(
    person: Person, reason: str, on: date, changed: str, before, after, by
) -> Followed:
    """The person's economic status or ability level changed ``on`` (``changed``, from
    ``before`` to ``after``): each enrolment being paid that a rule of its program covered
    with the old value and none covers with the new one stops from the next period
    (``reason``), its draft payments from then dropped; one still covered at another rule
    is paid that rule's amount from the next period (generation reads the new value)."""
    out = Followed(reason, on)
    enrolments = db.session.scalars(
        sa.select(Enrolment)
        .where(Enrolment.person_id == person.id, Enrolment.status.in_(BEING_PAID))
        .order_by(Enrolment.id)
        .with_for_update()
    ).all()
    for enrolment in enrolments:
        program = enrolment.program
        start = first_unpaid(program, on)
        table = program.table_for(start)
        if table is None or not table.rules:
            continue
        now = rules.Facts(
            age=age_on(person.birth_date, periods.age_reference(start)),
            economic_status=person.economic_status,
            ability_level=_ability_before(person, start),
        )
        if after is not None:
            now = replace(now, **{changed: after})
        rule = rules.rule_for(table.rules, now)
        # Unknown before: stop whatever no rule covers now.
        was = rules.rule_for(table.rules, replace(now, **{changed: before})) if before else rule
        if rule is not None:
            if was is not None and rule.amount_fen != was.amount_fen:
                out.new_amounts.append((enrolment, start, rule))
            continue
        if before and was is None:
            continue  # not this change's doing: the batch's own check leaves it out
        end_payments(enrolment, reason, start, "", by)
        out.stops.append(Stop(enrolment, start))
        for program_, count in drop_drafts(
            Payment.enrolment_id == enrolment.id, Payment.period >= start, by=by
        ).items():
            out.dropped[program_] = out.dropped.get(program_, 0) + count
    db.session.flush()
    return out
