"""How the subsidies feature answers the registry's events (see people.signals)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eldercare.extensions import db
from eldercare.people import signals
from eldercare.people.family import (
    FAMILY_PAYMENT_STATES,
    FAMILY_PAYMENTS,
    PaymentLine,
    SubsidyLine,
)
from eldercare.people.models import Person
from eldercare.subsidies.models import OPEN_ENROLMENT, Enrolment, Payment, PaymentKind


@signals.family_sections.connect
def _subsidies_for_family(person: Person, **_kwargs):
    enrolments = db.session.scalars(
        sa.select(Enrolment)
        .where(
            Enrolment.person_id == person.id,
            Enrolment.status.in_([s.value for s in OPEN_ENROLMENT]),
        )
        .options(joinedload(Enrolment.program))
        .order_by(Enrolment.id)
    ).all()
    payments = _latest_payments([e.id for e in enrolments], FAMILY_PAYMENTS)
    return {
        "subsidies": [
            SubsidyLine(
                program_name=enrolment.program.name,
                status_label=enrolment.status_label,
                account_masked=enrolment.account_masked,
                payments=[
                    PaymentLine(p.period, p.amount_fen, p.status_label)
                    for p in payments.get(enrolment.id, [])
                ],
            )
            for enrolment in enrolments
        ]
    }


def _latest_payments(enrolment_ids: list[int], limit: int) -> dict[int, list]:
    """{enrolment id: its latest ``limit`` payments a family member sees, newest first}, for
    all the enrolments in one query (payments numbered newest first within each)."""
    if not enrolment_ids:
        return {}
    newest_first = (Payment.period.desc(), Payment.id.desc())
    ranked = (
        sa.select(
            Payment.id,
            sa.func.row_number()
            .over(partition_by=Payment.enrolment_id, order_by=newest_first)
            .label("number"),
        )
        .where(
            Payment.enrolment_id.in_(enrolment_ids),
            Payment.kind != PaymentKind.REVERSAL.value,
            Payment.status.in_(FAMILY_PAYMENT_STATES),
        )
        .subquery()
    )
    found: dict[int, list] = {}
    for payment in db.session.scalars(
        sa.select(Payment)
        .join(ranked, ranked.c.id == Payment.id)
        .where(ranked.c.number <= limit)
        .order_by(*newest_first)
    ):
        found.setdefault(payment.enrolment_id, []).append(payment)
    return found
