"""How the subsidies feature answers the registry's events (see people.signals)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from eldercare.core.templating import yuan
from eldercare.extensions import db
from eldercare.people import signals
from eldercare.people.family import (
    FAMILY_PAYMENT_STATES,
    FAMILY_PAYMENTS,
    PaymentLine,
    SubsidyLine,
)
from eldercare.people.models import LifeEventKind, Person
from eldercare.people.signals import Effect
from eldercare.subsidies import periods
from eldercare.subsidies.models import (
    OPEN_ENROLMENT,
    STOP_LABELS,
    Enrolment,
    Payment,
    PaymentKind,
    StopReason,
)
from eldercare.subsidies.operations import departures

FEATURE = "subsidies"
#: The events after which the county pays the person nothing more.
DEPARTURES = (LifeEventKind.DEATH.value, LifeEventKind.MOVED_OUT.value)
#: The events that may take a person out of a program's rules: (stop reason, field).
RULE_CHANGES = {
    LifeEventKind.STATUS_LOST.value: (StopReason.LOST_STATUS.value, "economic_status"),
    LifeEventKind.ABILITY_CHANGED.value: (StopReason.ABILITY_CHANGED.value, "ability_level"),
}


@signals.life_event.connect
def _subsidies_follow_the_person(event, by=None, **_kwargs):
    """A death or a move out of the county stops every enrolment from the next period,
    refuses the applications, drops draft payments and lists what was paid for later
    periods for recovery; a lost status or a new ability level stops what no rule covers
    any more. Nothing again for the same fact."""
    person = event.person
    if event.kind in DEPARTURES:
        followed = departures.follow_departure(person, by)
    elif event.kind in RULE_CHANGES:
        reason, changed = RULE_CHANGES[event.kind]
        before, after = (event.details or {}).get(changed) or [None, None]
        followed = departures.follow_rules(
            person, reason, event.occurred_on, changed, before, after, by
        )
    else:
        return None
    return effects_of(followed) or None


def effects_of(followed: departures.Followed | None) -> list[Effect]:
    """What the recorder reads (per enrolment, per draft, per program to recover) and what
    a relative is told (what stops from when, what must be paid back)."""
    if followed is None:
        return []
    reason = STOP_LABELS[StopReason(followed.reason)]
    out = []
    for stop in followed.stops:
        name = stop.enrolment.program.name
        if stop.stop_month is None:
            out.append(
                Effect(
                    FEATURE,
                    _l(
                        "%(program)s: application refused (%(reason)s)", program=name, reason=reason
                    ),
                    family=_l("The application for %(program)s has ended.", program=name),
                )
            )
            continue
        period = periods.label(stop.enrolment.program.frequency, stop.stop_month)
        out.append(
            Effect(
                FEATURE,
                _l(
                    "%(program)s: stopped from %(period)s (%(reason)s)",
                    program=name,
                    period=period,
                    reason=reason,
                ),
                family=_l(
                    "%(program)s is no longer paid from %(period)s.", program=name, period=period
                ),
            )
        )
    for program, count in followed.dropped.items():
        out.append(
            Effect(
                FEATURE,
                _l(
                    "%(program)s: payments taken out of a draft batch: %(count)s",
                    program=program.name,
                    count=count,
                ),
            )
        )
    by_program: dict = {}
    for recovery in followed.recoveries:
        by_program.setdefault(recovery.payment.program, []).append(recovery.payment)
    for program, payments in by_program.items():
        labels = ", ".join(periods.label(program.frequency, p.period) for p in payments)
        amount = yuan(sum(p.amount_fen for p in payments))
        out.append(
            Effect(
                FEATURE,
                _l(
                    "%(program)s: to recover %(count)s payments, %(amount)s yuan (%(periods)s)",
                    program=program.name,
                    count=len(payments),
                    amount=amount,
                    periods=labels,
                ),
                family=_l(
                    "%(program)s already paid for %(periods)s (%(amount)s yuan) is to be paid"
                    " back; the civil-affairs office will contact you.",
                    program=program.name,
                    periods=labels,
                    amount=amount,
                ),
            )
        )
    for enrolment, period, rule in followed.new_amounts:
        program = enrolment.program
        label = periods.label(program.frequency, period)
        amount = yuan(rule.amount_fen * program.months)
        out.append(
            Effect(
                FEATURE,
                _l(
                    "%(program)s: %(amount)s yuan a period from %(period)s (new level)",
                    program=program.name,
                    amount=amount,
                    period=label,
                ),
                family=_l(
                    "%(program)s: %(amount)s yuan a period from %(period)s.",
                    program=program.name,
                    amount=amount,
                    period=label,
                ),
            )
        )
    return out


@signals.event_doubts.connect
def _payments_already_sent(person, kind=None, on=None, **_kwargs):
    """A data feed's death or move out on ``on`` when payments for later periods have
    already gone to the bank: an officer looks first."""
    if kind not in DEPARTURES or on is None:
        return None
    count = departures.sent_after(person, on)
    if not count:
        return None
    return _l(
        "%(count)s subsidy payments for periods after %(day)s were already sent: check them"
        " by hand.",
        count=count,
        day=on.isoformat(),
    )


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


@signals.involved.connect
def _subsidies_involved(kind, person_ids=(), **_kwargs):
    """A bulk recording's people with any enrolment (an open one stops; a stopped one may
    have payments made after the event to recover)."""
    return set(
        db.session.scalars(
            sa.select(Enrolment.person_id).where(Enrolment.person_id.in_(person_ids)).distinct()
        )
    )
