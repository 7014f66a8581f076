"""The bank's return (paid / failed / returned), all or nothing, and what becomes of the
payments that did not arrive: re-issued in the next batch, or not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.core import audit, permissions
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.spreadsheets import RowError, read_table, rows_of
from eldercare.core.upload_limits import TableLimits, one_import_at_a_time
from eldercare.extensions import db
from eldercare.subsidies.bankfile import TOTAL_LABEL, expire_loaded_payments, yuan_text
from eldercare.subsidies.models import (
    PAYMENT_LABELS,
    Batch,
    BatchStatus,
    Enrolment,
    EnrolmentStatus,
    Payment,
    PaymentStatus,
    Resolution,
    StopReason,
    SuspendReason,
)
from eldercare.subsidies.operations.batches import lock_batch
from eldercare.subsidies.operations.enrolment_changes import stop, suspend

#: Accepted headings of a bank return: the bank's usual words, ours, and English.
HEADERS = {
    "reference": ("业务参考号", "参考号", "业务编号", "流水号", "编号", "Payment reference", "ref"),
    "amount": ("金额（元）", "金额(元)", "金额", "发放金额", "Amount (yuan)", "Amount"),
    "result": ("结果", "处理结果", "发放结果", "状态", "Result", "Status"),
    "note": ("备注", "说明", "失败原因", "Note"),
}
REQUIRED = ("reference", "amount", "result")
LABEL = {key: names[0] for key, names in HEADERS.items()}
RESULTS = {
    PaymentStatus.PAID.value: ("成功", "已成功", "支付成功", "发放成功", "paid", "success", "ok"),
    PaymentStatus.FAILED.value: ("失败", "支付失败", "发放失败", "failed", "fail"),
    PaymentStatus.RETURNED.value: ("退回", "退票", "已退回", "returned", "return"),
}
RESULT_OF = {word.lower(): status for status, words in RESULTS.items() for word in words}
SETTLED = (
    PaymentStatus.PAID.value,
    PaymentStatus.FAILED.value,
    PaymentStatus.RETURNED.value,
)
#: A payment paid and later reversed was settled as paid.
SETTLED_AS = {**{s: s for s in SETTLED}, PaymentStatus.REVERSED.value: PaymentStatus.PAID.value}
MAX_ROWS = 500_000
NOTE_LENGTH = Payment.__table__.c.bank_note.type.length


@dataclass
class ReturnResult:
    rows: int = 0
    settled: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    reconciled: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def _fen(text: str) -> int | None:
    """Yuan as written by a bank (1,234.50 or 180) in fen; None when it is not an amount
    of whole fen."""
    try:
        value = Decimal(text.replace(",", "").replace("，", "").replace("¥", "").strip())
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    fen = value * 100
    if fen != fen.to_integral_value():
        return None
    return int(fen)


@one_import_at_a_time
def import_return(batch: Batch, filename: str, content: bytes, by) -> ReturnResult:
    """Check every row of the bank's return first; settle all of them or none. A payment
    already settled with the same result is skipped (importing the same file again changes
    nothing); with another result it is an error. When no payment of the batch is still
    at the bank, the batch is reconciled. Errors name the row, the column and the reason."""
    if not permissions.is_county_staff_of(by, batch.program.region):
        raise AppError(403, _l("Only county staff of this county may do this."))
    lock_batch(batch)
    if batch.status not in (BatchStatus.EXPORTED.value, BatchStatus.RECONCILED.value):
        raise Conflict(_l("The batch has not been sent to the bank yet."))
    result = ReturnResult()
    mapping, body, result.errors = rows_of(
        read_table(filename, content, TableLimits.for_rows(MAX_ROWS)), HEADERS, REQUIRED, MAX_ROWS
    )
    if result.errors:
        return result

    PAY = Payment.__table__
    payments = {
        pid: (amount, status)
        for pid, amount, status in db.session.execute(
            sa.select(PAY.c.id, PAY.c.amount_fen, PAY.c.status).where(PAY.c.batch_id == batch.id)
        )
    }
    seen: dict[int, int] = {}
    changes: dict[str, list[dict]] = {}
    for offset, cells in enumerate(body):
        row = offset + 2
        raw = {key: (cells[i] if i < len(cells) else "") for i, key in mapping.items()}
        if not any(raw.values()) or raw["reference"] == TOTAL_LABEL:
            continue  # a blank line, or the totals line of our own file sent back
        result.rows += 1
        errors: list[RowError] = []
        reference = raw["reference"].strip()
        payment = None
        if not reference.isascii() or not reference.isdigit():
            errors.append(RowError(row, LABEL["reference"], _("Not a payment reference.")))
        elif int(reference) in seen:
            errors.append(
                RowError(
                    row,
                    LABEL["reference"],
                    _("Same reference as row %(n)s.", n=seen[int(reference)]),
                )
            )
        elif int(reference) not in payments:
            errors.append(
                RowError(row, LABEL["reference"], _("No payment of this batch has this reference."))
            )
        else:
            seen[int(reference)] = row
            payment = (int(reference), *payments[int(reference)])
        fen = _fen(raw["amount"])
        if fen is None:
            errors.append(RowError(row, LABEL["amount"], _("Not an amount in yuan.")))
        elif payment is not None and fen != payment[1]:
            errors.append(
                RowError(
                    row,
                    LABEL["amount"],
                    _(
                        "The payment is %(amount)s yuan, not %(given)s.",
                        amount=yuan_text(payment[1]),
                        given=yuan_text(fen),
                    ),
                )
            )
        status = RESULT_OF.get(raw["result"].strip().lower())
        if status is None:
            errors.append(RowError(row, LABEL["result"], _("Write 成功, 失败 or 退回.")))
        if payment is not None and status is not None and not errors:
            pid, _amount, current = payment
            if current in SETTLED_AS:
                if SETTLED_AS[current] == status:
                    result.skipped += 1
                else:
                    errors.append(
                        RowError(
                            row,
                            LABEL["result"],
                            _(
                                "Already settled as %(status)s.",
                                status=PAYMENT_LABELS[PaymentStatus(SETTLED_AS[current])],
                            ),
                        )
                    )
            elif current != PaymentStatus.EXPORTED.value:
                errors.append(
                    RowError(
                        row,
                        LABEL["reference"],
                        _(
                            "This payment was not sent to the bank (%(status)s).",
                            status=PAYMENT_LABELS[PaymentStatus(current)],
                        ),
                    )
                )
            else:
                note = (raw.get("note") or "").strip()[:NOTE_LENGTH]
                changes.setdefault(status, []).append({"p_id": pid, "p_note": note})
        result.errors.extend(errors)
    if result.errors:
        return result

    now = utcnow()
    for status, rows in changes.items():
        db.session.execute(
            sa.update(PAY)
            .where(PAY.c.id == sa.bindparam("p_id"), PAY.c.status == PaymentStatus.EXPORTED.value)
            .values(status=status, settled_at=now, bank_note=sa.bindparam("p_note")),
            rows,
        )
        result.settled[status] = len(rows)
    outstanding = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PAY)
        .where(PAY.c.batch_id == batch.id, PAY.c.status == PaymentStatus.EXPORTED.value)
    )
    if outstanding == 0 and batch.status == BatchStatus.EXPORTED.value:
        batch.status = BatchStatus.RECONCILED.value
        batch.reconciled_at = now
        result.reconciled = True
    db.session.flush()
    expire_loaded_payments(batch)
    audit.record(
        "subsidies.bank_return_imported",
        batch,
        actor=by,
        changes={
            "file": filename[:100],
            "rows": result.rows,
            "paid": result.settled.get(PaymentStatus.PAID.value, 0),
            "failed": result.settled.get(PaymentStatus.FAILED.value, 0),
            "returned": result.settled.get(PaymentStatus.RETURNED.value, 0),
            "skipped": result.skipped,
            "outstanding": outstanding,
            "reconciled": result.reconciled,
        },
    )
    return result


# --- payments that did not arrive ----------------------------------------------------------

NOT_ARRIVED = (PaymentStatus.FAILED.value, PaymentStatus.RETURNED.value)


def not_arrived(batch: Batch, limit: int | None = None) -> list[Payment]:
    """The batch's failed and returned payments, those still to be resolved first."""
    stmt = (
        sa.select(Payment)
        .where(Payment.batch_id == batch.id, Payment.status.in_(NOT_ARRIVED))
        .order_by(Payment.resolution.is_not(None), Payment.id)
        .options(selectinload(Payment.person), selectinload(Payment.facility))
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def not_arrived_count(batch: Batch) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Payment)
        .where(Payment.batch_id == batch.id, Payment.status.in_(NOT_ARRIVED))
    )


def resolve(
    payment: Payment,
    resolution: str,
    by,
    *,
    note: str = "",
    enrolment_action: str | None = None,
    reason: str | None = None,
    from_month: date | None = None,
) -> Payment:
    """Decide what becomes of a failed or returned payment: re-issue it (the program's next
    batch sends it again, to the enrolment's account as it is then), or not; when not, the
    enrolment may be stopped or suspended at the same time (``enrolment_action`` "stop" or
    "suspend" with its ``reason``, from ``from_month``)."""
    if not permissions.is_county_staff_of(by, payment.program.region):
        raise AppError(403, _l("Only county staff of this county may do this."))
    if payment.status not in NOT_ARRIVED:
        raise Conflict(_l("Only a failed or returned payment is resolved."))
    if payment.resolution is not None:
        raise Conflict(_l("This payment has already been resolved."))
    if resolution not in (Resolution.REISSUE.value, Resolution.STOP.value):
        raise Invalid(errors={"resolution": [_("Not one of the allowed choices.")]})
    note = (note or "").strip()
    enrolment: Enrolment = payment.enrolment
    if resolution == Resolution.REISSUE.value:
        if enrolment_action:
            raise Invalid(
                errors={
                    "enrolment_action": [_("A re-issued payment leaves the enrolment as it is.")]
                }
            )
        if enrolment.status in (EnrolmentStatus.STOPPED.value, EnrolmentStatus.REJECTED.value):
            raise Conflict(_l("The enrolment has ended: the payment cannot be re-issued."))
    else:
        if not note:
            raise Invalid(errors={"note": [_("Say why the payment is not re-issued.")]})
        if enrolment_action == "stop":
            if reason not in {r.value for r in StopReason}:
                raise Invalid(errors={"reason": [_("Choose why payments stop.")]})
            stop(enrolment, reason, from_month, note, by)
        elif enrolment_action == "suspend":
            if reason not in {r.value for r in SuspendReason}:
                raise Invalid(errors={"reason": [_("Choose why payments are suspended.")]})
            suspend(enrolment, reason, from_month or payment.period, note, by)
        elif enrolment_action:
            raise Invalid(errors={"enrolment_action": [_("Not one of the allowed choices.")]})
    payment.resolution = resolution
    if note:
        payment.note = note[: Payment.__table__.c.note.type.length]
    db.session.flush()
    audit.record(
        "subsidies.payment_resolved",
        payment,
        actor=by,
        changes={
            "status": payment.status,
            "resolution": resolution,
            "enrolment_action": enrolment_action or None,
            "reason": reason if enrolment_action else None,
            "note": note,
        },
    )
    return payment
