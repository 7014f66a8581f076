"""An enrolment being paid: suspended and resumed, stopped (also when the person dies or
leaves: ``departures``), and its yearly review.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from eldercare.core.db import local_today
from eldercare.core.errors import Conflict
from eldercare.core.permissions import is_local_staff_of
from eldercare.subsidies import periods
from eldercare.subsidies.models import Enrolment, EnrolmentStatus
from eldercare.subsidies.operations.access import forbidden, require_county
from eldercare.subsidies.operations.enrolments import transition


def suspend(enrolment: Enrolment, reason: str, from_month: date, note: str, by) -> Enrolment:
    require_county(by, enrolment.program.region)
    return hold_payments(enrolment, reason, from_month, note, by)


def hold_payments(enrolment: Enrolment, reason: str, from_month: date, note: str, by) -> Enrolment:
    """The suspension itself, for callers that decided who may (a job, ``by`` None: the
    existence check past its grace period)."""
    if enrolment.status != EnrolmentStatus.ACTIVE.value:
        raise Conflict(_l("Only an active enrolment can be suspended."))
    enrolment.status = EnrolmentStatus.SUSPENDED.value
    enrolment.suspend_reason = reason
    enrolment.suspended_from = periods.period_containing(enrolment.program.frequency, from_month)
    enrolment.decision_note = note or ""
    transition(
        enrolment,
        "suspended",
        by,
        reason=reason,
        from_month=enrolment.suspended_from.isoformat(),
        note=note,
    )
    return enrolment


def resume(
    enrolment: Enrolment, back_pay_reason: str | None, note: str, by, today: date | None = None
) -> Enrolment:
    """Payments go on; the suspended periods are paid as back pay only for a listed reason."""
    require_county(by, enrolment.program.region)
    return resume_payments(enrolment, back_pay_reason, note, by, today)


def resume_payments(
    enrolment: Enrolment, back_pay_reason: str | None, note: str, by, today: date | None = None
) -> Enrolment:
    """The resumption itself, for callers that decided who may (township staff recording an
    existence check)."""
    if enrolment.status != EnrolmentStatus.SUSPENDED.value:
        raise Conflict(_l("Only a suspended enrolment can be resumed."))
    enrolment.status = EnrolmentStatus.ACTIVE.value
    if back_pay_reason:
        enrolment.arrears_from = min(
            filter(None, [enrolment.arrears_from, enrolment.suspended_from])
        )
    elif enrolment.suspended_from is not None:
        # The suspended periods are never paid, even if earlier arrears are still owed.
        enrolment.waived_from = enrolment.suspended_from
        enrolment.waived_until = max(
            enrolment.suspended_from,
            periods.period_containing(enrolment.program.frequency, today or local_today()),
        )
    transition(
        enrolment,
        "resumed",
        by,
        back_pay_reason=back_pay_reason,
        suspended_from=enrolment.suspended_from.isoformat() if enrolment.suspended_from else None,
        note=note,
    )
    enrolment.suspend_reason = None
    enrolment.suspended_from = None
    enrolment.decision_note = note or ""
    return enrolment


def stop(enrolment: Enrolment, reason: str, stop_month: date | None, note: str, by) -> Enrolment:
    """停发: no period from ``stop_month`` on is paid (open payments of those periods in
    draft batches are excluded when the batch is checked)."""
    if by is not None:
        require_county(by, enrolment.program.region)
    return end_payments(enrolment, reason, stop_month, note, by)


def end_payments(
    enrolment: Enrolment,
    reason: str,
    stop_month: date | None,
    note: str,
    by,
    *,
    audit_note: str = "",
) -> Enrolment:
    """The stop itself, without asking who: for the registry's events (a township officer, a
    facility or a feed records a death; the county's permission is not theirs to need)."""
    if enrolment.status in (EnrolmentStatus.STOPPED.value, EnrolmentStatus.REJECTED.value):
        raise Conflict(_l("This enrolment has already ended."))
    enrolment.status = EnrolmentStatus.STOPPED.value
    enrolment.stop_reason = reason
    enrolment.stop_month = periods.period_containing(
        enrolment.program.frequency, stop_month or local_today()
    )
    if enrolment.arrears_from is not None and enrolment.arrears_from >= enrolment.stop_month:
        enrolment.arrears_from = None  # what is still owed before the stop stays owed
    enrolment.decision_note = note or ""
    transition(
        enrolment,
        "stopped",
        by,
        reason=reason,
        stop_month=enrolment.stop_month.isoformat(),
        note=note,
        audit_note=audit_note,
    )
    return enrolment


def record_review(enrolment: Enrolment, note: str, by, today: date | None = None) -> Enrolment:
    """The yearly review (年度复审) found the person still eligible."""
    if not (is_local_staff_of(by, enrolment.region)):
        raise forbidden()
    if enrolment.status not in (EnrolmentStatus.ACTIVE.value, EnrolmentStatus.SUSPENDED.value):
        raise Conflict(_l("Only an enrolment being paid is reviewed."))
    today = today or local_today()
    before = enrolment.next_review_on
    enrolment.next_review_on = periods.add_months(today, enrolment.program.review_months).replace(
        day=min(today.day, 28)
    )
    transition(
        enrolment,
        "review_recorded",
        by,
        next_review_on=[
            before.isoformat() if before else None,
            enrolment.next_review_on.isoformat(),
        ],
        note=note,
    )
    return enrolment
