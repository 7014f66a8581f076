"""One payment of a batch: left out or released while the batch is a draft, reversed once paid.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.extensions import db
from eldercare.subsidies.models import ExceptionCode, Payment, PaymentKind, PaymentStatus
from eldercare.subsidies.operations.access import require_county
from eldercare.subsidies.operations.batches import lock_batch


def exclude_payment(payment: Payment, reason: str, by) -> Payment:
    """Leave a payment out of a draft batch, with the reason: drawing the batch up again does
    not bring it back; like a held payment nobody released, its period stays owed after
    approval (a later batch pays it as back pay unless it is excluded there too)."""
    batch = payment.batch
    require_county(by, batch.program.region)
    lock_batch(batch)
    if batch.is_frozen:
        raise Conflict(_l("This batch is approved and frozen."))
    if payment.status not in (PaymentStatus.PENDING.value, PaymentStatus.HELD.value):
        raise Conflict(_l("Only a pending or held payment can be excluded."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(errors={"reason": [_("Say why the payment is excluded.")]})
    before = payment.status
    payment.status = PaymentStatus.EXCLUDED.value
    payment.exception = ExceptionCode.MANUAL.value
    payment.note = reason
    db.session.flush()
    audit.record(
        "subsidies.payment_excluded",
        payment,
        actor=by,
        changes={"status": before, "amount_fen": payment.amount_fen, "reason": reason},
    )
    return payment


def override(payment: Payment, reason: str, by) -> Payment:
    """Release a held payment for this batch; the reason and the person are on record."""
    batch = payment.batch
    require_county(by, batch.program.region)
    lock_batch(batch)
    if batch.is_frozen:
        raise Conflict(_l("This batch is approved and frozen."))
    if payment.status != PaymentStatus.HELD.value:
        raise Conflict(_l("Only a held payment can be released."))
    if not (reason or "").strip():
        raise Invalid(errors={"reason": [_("Say why the payment may go ahead.")]})
    payment.status = PaymentStatus.PENDING.value
    payment.override_by_id = by.id
    payment.override_reason = reason.strip()
    db.session.flush()
    audit.record(
        "subsidies.payment_overridden",
        payment,
        actor=by,
        changes={"exception": payment.exception, "reason": payment.override_reason},
    )
    return payment


def reversal_entry(payment: Payment, note: str) -> Payment:
    """The entry that takes ``payment`` back: minus its amount, for the same period and
    enrolment, pointing at it (one per payment: ``reverses_id`` is unique). Not added."""
    return Payment(
        enrolment_id=payment.enrolment_id,
        program_id=payment.program_id,
        region_id=payment.region_id,
        person_id=payment.person_id,
        facility_id=payment.facility_id,
        period=payment.period,
        kind=PaymentKind.REVERSAL.value,
        status=PaymentStatus.RECORDED.value,
        rule_id=payment.rule_id,
        quantity=payment.quantity,
        amount_fen=-payment.amount_fen,
        reverses_id=payment.id,
        note=note[:255],
        created_at=utcnow(),
    )


def reverse(payment: Payment, reason: str, by, repay: bool = False) -> Payment:
    """A correction: a reversal entry of minus the amount, never an edit of the payment.
    ``repay`` marks the period as owed again, so the next batch pays what is due now."""
    require_county(by, payment.program.region)
    if payment.status != PaymentStatus.PAID.value or payment.kind == PaymentKind.REVERSAL.value:
        raise Conflict(_l("Only a paid payment can be reversed."))
    if not (reason or "").strip():
        raise Invalid(errors={"reason": [_("Say why the payment is reversed.")]})
    if db.session.scalar(sa.select(Payment.id).where(Payment.reverses_id == payment.id)):
        raise Conflict(
            _l(
                "This payment is already reversed: it is listed for recovery after a death"
                " or a move out of the county."
            )
        )
    payment.status = PaymentStatus.REVERSED.value
    entry = reversal_entry(payment, reason.strip())
    db.session.add(entry)
    if repay:
        enrolment = payment.enrolment
        enrolment.arrears_from = min(filter(None, [enrolment.arrears_from, payment.period]))
    db.session.flush()
    audit.record(
        "subsidies.payment_reversed",
        payment,
        actor=by,
        changes={"amount_fen": payment.amount_fen, "reason": reason.strip(), "repay": repay},
    )
    return entry
