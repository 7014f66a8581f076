"""A program's batch for a period: drawn up by one person, approved by another, or voided
while still a draft. Generation and approval write with set-based SQL.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.regions.operations import county_settings_for
from eldercare.subsidies import generation, periods
from eldercare.subsidies.models import (
    Batch,
    BatchStatus,
    Enrolment,
    ExceptionCode,
    Payment,
    PaymentStatus,
    Program,
)
from eldercare.subsidies.operations.access import forbidden, require_county


@dataclass
class Outcome:
    """What a generation or an approval changed."""

    batch: Batch
    added: int = 0
    excluded: int = 0
    held: int = 0
    approved: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.excluded or self.held)


def _after_bulk() -> None:
    """Generation and approval write with set-based SQL: objects already loaded in the
    session must be read again, or a later change would be computed from stale values."""
    db.session.flush()
    db.session.expire_all()


def lock_batch(batch: Batch) -> Batch:
    """The batch row, locked until commit (PostgreSQL; SQLite writes one at a time)."""
    db.session.execute(sa.select(Batch.id).where(Batch.id == batch.id).with_for_update())
    db.session.refresh(batch)
    return batch


def batch_for(program: Program, period: date, by) -> Batch:
    """The program's batch for a period, made now if there is none (two makers at once get
    the same batch: the second insert meets the unique constraint and loads the first)."""
    existing = db.session.scalar(
        sa.select(Batch).where(Batch.program_id == program.id, Batch.period == period)
    )
    if existing is not None:
        return existing
    batch = Batch(
        program=program,
        region_id=program.region_id,
        period=period,
        made_by_id=by.id,
        due_on=periods.due_on(program.frequency, program.timing, program.pay_day, period),
    )
    try:
        with db.session.begin_nested():
            db.session.add(batch)
    except sa.exc.IntegrityError:
        return db.session.scalar(
            sa.select(Batch).where(Batch.program_id == program.id, Batch.period == period)
        )
    audit.record("subsidies.batch_created", batch, actor=by, changes={"period": period.isoformat()})
    return batch


def latest_period(program: Program, today: date | None = None) -> date:
    """The last period a batch may be drawn up for: the one running today, or as many
    periods after it as the county allows (``CountySettings.subsidy_periods_ahead``)."""
    period = periods.period_containing(program.frequency, today or local_today())
    for _step in range(county_settings_for(program.region).subsidy_periods_ahead):
        period = periods.next_period(program.frequency, period)
    return period


def check_period_allowed(program: Program, period: date, today: date | None = None) -> None:
    """Refuse a batch for a period too far ahead: it would take the periods of people just
    enrolled as back pay, and the money would go out before it is due."""
    latest = latest_period(program, today)
    if period > latest:
        raise Invalid(
            errors={
                "period": [
                    _(
                        "%(period)s is too far ahead: a batch can be drawn up only for a period"
                        " that has begun or up to %(latest)s. Choose %(latest)s or earlier.",
                        period=periods.label(program.frequency, period),
                        latest=periods.label(program.frequency, latest),
                    )
                ]
            }
        )


def generate(program: Program, period: date, by) -> Outcome:
    """Draw up (or complete) the batch of a program for a period: idempotent, so a second run
    adds only what is missing. Everything added is checked at once. Only for a period that
    has begun or the next ones the county allows (``check_period_allowed``)."""
    require_county(by, program.region)
    if not periods.is_period_start(program.frequency, period):
        raise Invalid(errors={"period": [_("Choose the first month of a period.")]})
    check_period_allowed(program, period)
    if program.table_for(period) is None:
        raise Conflict(_l("The program has no rule table in force for this period."))
    batch = lock_batch(batch_for(program, period, by))
    if batch.is_frozen:
        raise Conflict(_l("This batch is approved and frozen."))
    outcome = Outcome(batch)
    outcome.excluded = generation.exclude_ineligible(batch)
    outcome.added = generation.fill(batch)
    outcome.held = generation.hold_suspicious(batch)
    maker_id = by.id
    _after_bulk()
    batch.generated_at = utcnow()
    if batch.made_by_id is None:
        batch.made_by_id = maker_id
    if outcome.added:
        batch.generated_by_id = maker_id
    db.session.flush()
    audit.record(
        "subsidies.batch_generated",
        batch,
        actor=by,
        changes={"added": outcome.added, "excluded": outcome.excluded, "held": outcome.held},
    )
    return outcome


def totals(batch: Batch) -> dict[str, tuple[int, int]]:
    """{status: (count, fen)} of a batch's payments."""
    rows = db.session.execute(
        sa.select(
            Payment.status, sa.func.count(), sa.func.coalesce(sa.func.sum(Payment.amount_fen), 0)
        )
        .where(Payment.batch_id == batch.id)
        .group_by(Payment.status)
    )
    return {status: (count, int(fen)) for status, count, fen in rows}


def approve(batch: Batch, by) -> Outcome:
    """Four eyes: someone other than the maker approves. Eligibility is checked again
    first; if anything changed since the maker last looked, nothing is approved and the
    changes are kept for the approver to see. Approval freezes the batch, the amounts and
    the accounts paid into; held payments that nobody overrode are excluded."""
    require_county(by, batch.program.region)
    batch = lock_batch(batch)
    if batch.is_frozen:
        raise Conflict(_l("This batch is already approved."))
    approver_id = by.id
    if approver_id in (batch.made_by_id, batch.generated_by_id):
        raise forbidden(_l("The maker of a batch cannot approve it: ask a colleague."))
    released = db.session.scalar(
        sa.select(Payment.id)
        .where(Payment.batch_id == batch.id, Payment.override_by_id == approver_id)
        .limit(1)
    )
    if released:
        raise forbidden(
            _l("You released held payments of this batch: a colleague must approve it.")
        )
    check_period_allowed(batch.program, batch.period)
    outcome = Outcome(batch)
    outcome.excluded = generation.exclude_ineligible(batch)
    outcome.added = generation.fill(batch)
    outcome.held = generation.hold_suspicious(batch)
    if outcome.changed:
        if outcome.added:
            batch.generated_by_id = approver_id  # now a maker of this batch too
        _after_bulk()
        audit.record(
            "subsidies.batch_rechecked",
            batch,
            actor=by,
            changes={"added": outcome.added, "excluded": outcome.excluded, "held": outcome.held},
        )
        return outcome
    PAY = Payment.__table__
    E = Enrolment.__table__
    # Whatever was owed up to this period is settled by this batch, except held payments:
    # those stay owed, and come back (and are checked again) in the next batch.
    db.session.execute(
        sa.update(E)
        .where(
            E.c.program_id == batch.program_id,
            E.c.arrears_from <= batch.period,
            E.c.id.in_(
                sa.select(PAY.c.enrolment_id).where(
                    PAY.c.batch_id == batch.id, PAY.c.status == PaymentStatus.PENDING.value
                )
            ),
        )
        .values(arrears_from=None)
    )
    left_out = sa.or_(
        PAY.c.status == PaymentStatus.HELD.value,
        sa.and_(
            PAY.c.status == PaymentStatus.EXCLUDED.value,
            PAY.c.exception == ExceptionCode.MANUAL.value,
        ),
    )
    held_since = (
        sa.select(sa.func.min(PAY.c.period))
        .where(PAY.c.enrolment_id == E.c.id, PAY.c.batch_id == batch.id, left_out)
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(E)
        .where(
            E.c.id.in_(sa.select(PAY.c.enrolment_id).where(PAY.c.batch_id == batch.id, left_out))
        )
        .values(arrears_from=held_since)
    )
    db.session.execute(
        sa.update(PAY)
        .where(PAY.c.batch_id == batch.id, PAY.c.status == PaymentStatus.HELD.value)
        .values(status=PaymentStatus.EXCLUDED.value)
    )
    # UPDATE ... FROM the enrolments: the account of each payment frozen in one pass.
    db.session.execute(
        sa.update(PAY)
        .where(
            PAY.c.batch_id == batch.id,
            PAY.c.status == PaymentStatus.PENDING.value,
            PAY.c.enrolment_id == E.c.id,
        )
        .values(
            status=PaymentStatus.APPROVED.value,
            account_holder=E.c.account_holder,
            bank_name=E.c.bank_name,
            account_number=E.c.account_number,
            account_masked=E.c.account_masked,
        )
    )
    _after_bulk()
    count, fen = totals(batch).get(PaymentStatus.APPROVED.value, (0, 0))
    batch.approved_by_id = approver_id
    batch.status = BatchStatus.APPROVED.value
    batch.approved_at = utcnow()
    batch.payment_count = count
    batch.total_fen = fen
    db.session.flush()
    outcome.approved = True
    audit.record(
        "subsidies.batch_approved", batch, actor=by, changes={"count": count, "total_fen": fen}
    )
    return outcome


def void_batch(batch: Batch, reason: str, by) -> dict:
    """Throw a draft batch away: its payments go and its period (and the periods it paid as
    back pay) are free again for the batches they belong to. On record with the reason,
    the count and the sum. An approved batch is never voided (a correction is a reversal)."""
    require_county(by, batch.program.region)
    batch = lock_batch(batch)
    if batch.is_frozen:
        raise Conflict(
            _l("Only a draft batch can be voided: an approved batch is corrected by reversals.")
        )
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(errors={"reason": [_("Say why the batch is voided.")]})
    PAY = Payment.__table__
    count, fen = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(PAY.c.amount_fen), 0)).where(
            PAY.c.batch_id == batch.id
        )
    ).one()
    summary = {
        "program_id": batch.program_id,
        "period": batch.period.isoformat(),
        "payments": count,
        "total_fen": int(fen),
        "reason": reason,
    }
    audit.record("subsidies.batch_voided", batch, actor=by, changes=summary)
    db.session.execute(sa.delete(PAY).where(PAY.c.batch_id == batch.id))
    db.session.delete(batch)
    _after_bulk()
    return summary
