"""The existence check: a program's setting, a check recorded by the person's township (or
county) staff, which resumes an enrolment suspended for want of it, and the suspension of
an enrolment whose check is past its grace period. Suspending and resuming go through the
enrolment operations of the subsidy feature, which audit them.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.beds.models import Stay
from eldercare.core import audit
from eldercare.core.db import local_today
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.permissions import is_local_staff_of
from eldercare.extensions import db
from eldercare.subsidies import periods
from eldercare.subsidies.existence.models import ExistenceCheck, ExistencePolicy, Method
from eldercare.subsidies.models import Enrolment, EnrolmentStatus, Program, SuspendReason
from eldercare.subsidies.operations import enrolment_changes
from eldercare.subsidies.operations.access import forbidden, require_county

#: Enrolments that are checked: being paid, or suspended (a check may resume them).
CHECKED_STATUSES = (EnrolmentStatus.ACTIVE.value, EnrolmentStatus.SUSPENDED.value)


def due_on(base: date, months: int) -> date:
    """``months`` after ``base``, the same day of the month (the 28th at most, so that the
    date exists in every month)."""
    return periods.add_months(base, months).replace(day=min(base.day, 28))


def base_of(
    policy: ExistencePolicy, last_checked: date | None, activated: date | None, start: date
) -> date:
    """What the next check counts from: the last check, else the activation (the first
    period paid if no activation is recorded), never before the check was switched on."""
    return max(last_checked or activated or start, policy.counted_from)


def policy_of(program: Program) -> ExistencePolicy | None:
    """The program's setting, switched on or off; None when it never had one."""
    return db.session.scalar(
        sa.select(ExistencePolicy).where(ExistencePolicy.program_id == program.id)
    )


def last_check(enrolment: Enrolment) -> ExistenceCheck | None:
    return db.session.scalar(
        sa.select(ExistenceCheck)
        .where(ExistenceCheck.enrolment_id == enrolment.id)
        .order_by(ExistenceCheck.checked_on.desc(), ExistenceCheck.id.desc())
        .limit(1)
    )


def next_due(enrolment: Enrolment, policy: ExistencePolicy) -> date:
    last = last_check(enrolment)
    base = base_of(
        policy,
        last.checked_on if last else None,
        enrolment.activated_on,
        enrolment.start_month,
    )
    return due_on(base, policy.interval_months)


def save_policy(program: Program, data: dict, by, today: date | None = None) -> ExistencePolicy:
    """The county sets (or changes, or switches off) a person program's existence check."""
    require_county(by, program.region)
    if not program.pays_people:
        raise Conflict(_l("Only a program paid to people has an existence check."))
    today = today or local_today()
    policy = policy_of(program)
    before = {}
    if policy is None:
        policy = ExistencePolicy(program_id=program.id, counted_from=today)
        db.session.add(policy)
    else:
        before = {
            "active": policy.active,
            "interval_months": policy.interval_months,
            "grace_days": policy.grace_days,
            "back_pay_reason": policy.back_pay_reason,
        }
        if data["active"] and not policy.active:
            # Switched on again: nobody is overdue for the months it was off.
            policy.counted_from = today
    policy.active = bool(data["active"])
    policy.interval_months = data["interval_months"]
    policy.grace_days = data["grace_days"]
    policy.back_pay_reason = data.get("back_pay_reason") or None
    policy.updated_by_id = by.id
    db.session.flush()
    after = {
        "active": policy.active,
        "interval_months": policy.interval_months,
        "grace_days": policy.grace_days,
        "back_pay_reason": policy.back_pay_reason,
    }
    audit.record(
        "subsidies.existence_policy_saved",
        policy,
        actor=by,
        region_id=program.region_id,
        changes={k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        | {"program": program.code, "counted_from": policy.counted_from.isoformat()},
    )
    return policy


def _facility_of(person_id: int, on: date) -> int | None:
    """The facility the person lived in on that day (an open stay admitted by then)."""
    return db.session.scalar(
        sa.select(Stay.facility_id)
        .where(
            Stay.person_id == person_id,
            Stay.admitted_on <= on,
            sa.or_(Stay.discharged_on.is_(None), Stay.discharged_on >= on),
        )
        .order_by(Stay.admitted_on.desc())
        .limit(1)
    )


def record_check(enrolment: Enrolment, data: dict, by, today: date | None = None) -> ExistenceCheck:
    """生存认证 recorded by staff of the person's township or county: the next check is due
    one interval after it; an enrolment suspended for want of a check is resumed (with back
    pay for the suspended periods when the program's setting gives a reason for it)."""
    if not is_local_staff_of(by, enrolment.region):
        raise forbidden(_l("Checks are recorded by staff of the person's township or county."))
    today = today or local_today()
    # One check at a time per enrolment: a second one waits and sees the first's resumption.
    db.session.execute(
        sa.select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update()
    )
    db.session.refresh(enrolment)
    policy = policy_of(enrolment.program)
    if policy is None or not policy.active:
        raise Conflict(_l("This program asks for no existence check."))
    if enrolment.status not in CHECKED_STATUSES:
        raise Conflict(_l("Only an enrolment being paid or suspended is checked."))
    person = enrolment.person
    if person is None:
        raise Conflict(_l("Only a person's enrolment is checked."))
    if person.has_left:
        raise Conflict(
            _l(
                "This person's death or move out of the county is recorded: the enrolment"
                " stops, no check is needed."
            )
        )
    checked_on = data["checked_on"]
    if checked_on > today:
        raise Invalid(errors={"checked_on": [_("The check cannot be dated in the future.")]})
    last = last_check(enrolment)
    if last is not None and checked_on < last.checked_on:
        raise Invalid(
            errors={
                "checked_on": [
                    _(
                        "The last check was on %(date)s: give that day or a later one.",
                        date=last.checked_on.isoformat(),
                    )
                ]
            }
        )
    facility_id = None
    if data["method"] == Method.FACILITY.value:
        facility_id = _facility_of(person.id, checked_on)
        if facility_id is None:
            raise Invalid(
                errors={
                    "method": [
                        _(
                            "The person lived in no facility on that day: a facility certifies"
                            " only its residents. Choose a home visit or a video call."
                        )
                    ]
                }
            )
    check = ExistenceCheck(
        enrolment_id=enrolment.id,
        region_id=enrolment.region_id,
        checked_on=checked_on,
        method=data["method"],
        witness=data["witness"],
        facility_id=facility_id,
        note=data.get("note") or "",
        recorded_by_id=by.id,
    )
    db.session.add(check)
    if (
        enrolment.status == EnrolmentStatus.SUSPENDED.value
        and enrolment.suspend_reason == SuspendReason.EXISTENCE_CHECK.value
    ):
        # The check is the authority to resume (who may record it was asked above): the
        # resumption itself, without the county's permission, in the recorder's name.
        enrolment_changes.resume_payments(
            enrolment,
            policy.back_pay_reason,
            _("Existence checked on %(date)s", date=checked_on.isoformat()),
            by,
            today=today,
        )
        check.resumed = True
    db.session.flush()
    audit.record(
        "subsidies.existence_checked",
        enrolment,
        actor=by,
        changes={
            "checked_on": checked_on.isoformat(),
            "method": check.method,
            "witness": check.witness,
            "note": check.note,
            "resumed": check.resumed,
            "back_pay_reason": policy.back_pay_reason if check.resumed else None,
            "next_due_on": due_on(max(checked_on, policy.counted_from), policy.interval_months),
        },
    )
    return check


def suspend_unchecked(enrolment: Enrolment, due: date, today: date) -> Enrolment | None:
    """The grace period after the due date is over without a check: payments are suspended
    from the next period (the current one is paid or being paid)."""
    from_month = periods.next_period(
        enrolment.program.frequency,
        periods.period_containing(enrolment.program.frequency, today),
    )
    return enrolment_changes.hold_payments(
        enrolment,
        SuspendReason.EXISTENCE_CHECK.value,
        from_month,
        f"existence check due {due.isoformat()}",
        None,
    )
