"""Payments to recover (追回) after a death or a move out of the county: the county's list,
and a payment recorded as recovered, with a note, by county staff of the payment's county.

Operations add and flush; the view commits once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, joinedload

from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.permissions import scope_clause
from eldercare.extensions import db
from eldercare.subsidies.models import Payment, Recovery, RecoveryStatus
from eldercare.subsidies.operations.access import require_county

NOTE_LENGTH = 255


def recoveries_of(user, status: str | None = None, program_id: int | None = None) -> sa.Select:
    """The recoveries ``user`` may see (county staff: their county), oldest first among
    those still to recover; with their payment, program and person loaded in the query."""
    original = aliased(Payment)
    query = (
        sa.select(Recovery)
        .join(original, original.id == Recovery.payment_id)
        .where(scope_clause(Recovery, user))
        .options(
            joinedload(Recovery.payment).joinedload(Payment.program),
            joinedload(Recovery.reversal),
            joinedload(Recovery.person),
            joinedload(Recovery.recovered_by),
        )
        .order_by(Recovery.status.desc(), original.period, Recovery.id)
    )
    if status and status != "all":
        query = query.where(Recovery.status == status)
    if program_id:
        query = query.where(original.program_id == program_id)
    return query


def mark_recovered(recovery: Recovery, note: str, by) -> Recovery:
    """The money came back (or the county settled it otherwise: the note says how)."""
    require_county(by, recovery.payment.program.region)
    db.session.execute(sa.select(Recovery.id).where(Recovery.id == recovery.id).with_for_update())
    db.session.refresh(recovery)
    if not recovery.is_open:
        raise Conflict(_l("This payment is already recorded as recovered."))
    note = (note or "").strip()
    if not note:
        raise Invalid(errors={"note": [_("Say how the money was recovered.")]})
    if len(note) > NOTE_LENGTH:
        raise Invalid(errors={"note": [_("Keep the note to %(n)s characters.", n=NOTE_LENGTH)]})
    recovery.status = RecoveryStatus.RECOVERED.value
    recovery.recovered_by_id = by.id
    recovery.recovered_at = utcnow()
    recovery.note = note
    db.session.flush()
    audit.record(
        "subsidies.recovery_recovered",
        recovery,
        actor=by,
        changes={
            "payment_id": recovery.payment_id,
            "amount_fen": recovery.amount_fen,
            "note": note,
        },
    )
    return recovery
