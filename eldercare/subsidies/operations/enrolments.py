"""An enrolment from application to activation: the township's review, the county's
approval and public notice, and the people newly reaching a program's age.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.core import audit, resident_id
from eldercare.core.db import local_date, local_today, utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.periods import notice_ends_on
from eldercare.core.permissions import is_local_staff_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.subsidies import generation, periods, rules
from eldercare.subsidies.models import OPEN_ENROLMENT, Enrolment, EnrolmentStatus, Program
from eldercare.subsidies.operations.access import forbidden, require_county
from eldercare.subsidies.operations.accounts import set_account


def facts_of(person: Person, period: date) -> rules.Facts:
    """What the rules see of a person for a period (the same as generation's SQL)."""
    ability = None
    for assessment in person.assessments:  # newest first
        if assessment.assessed_on < period:
            ability = assessment.level
            break
    return rules.Facts(
        age=person.age_on(periods.age_reference(period)),
        economic_status=person.economic_status,
        ability_level=ability,
    )


def first_payable(program: Program, person: Person, applied: date) -> date | None:
    """The first period from the application on in which the person meets a rule (looking
    up to five years ahead, for an application made before the birthday). A quarter or a
    year already under way when the application is made is not paid."""
    period = periods.period_containing(program.frequency, applied)
    if period < periods.month_start(applied):
        period = periods.next_period(program.frequency, period)
    for _step in range(60 // program.months + 1):
        table = program.table_for(period)
        if table is not None and rules.rule_for(table.rules, facts_of(person, period)):
            return period
        period = periods.next_period(program.frequency, period)
    return None


def apply(program: Program, data: dict, by) -> Enrolment:
    """An application (申请), registered by township or county staff for a person or a
    facility of the county."""
    applied = data.get("applied_on") or local_today()
    if program.pays_people:
        person = db.session.get(Person, data.get("person_id") or 0)
        if person is None or not program.region.contains(person.region):
            raise Invalid(errors={"person_id": [_("Choose a person registered in this county.")]})
        region = person.region
        id_birth_date = resident_id.parse(person.id_number).birth_date
        if id_birth_date != person.birth_date:
            raise Invalid(
                errors={
                    "person_id": [_("The birth date in the register contradicts the ID number.")]
                }
            )
        if person.death_date is not None:
            raise Invalid(errors={"person_id": [_("This person has died.")]})
        if person.moved_out_on is not None:
            raise Invalid(
                errors={
                    "person_id": [
                        _(
                            "This person's household registration moved out of the county:"
                            " the county no longer pays them."
                        )
                    ]
                }
            )
        subject = {"person_id": person.id, "id_birth_date": id_birth_date}
    else:
        facility = db.session.get(Facility, data.get("facility_id") or 0)
        if facility is None or not program.region.contains(facility.region):
            raise Invalid(errors={"facility_id": [_("Choose a facility of this county.")]})
        region = facility.region
        subject = {"facility_id": facility.id}
    if not is_local_staff_of(by, region):
        raise forbidden(
            _l("Applications are registered by staff of the person's township or county.")
        )
    if not program.active:
        raise Conflict(_l("This program takes no new applications."))
    # Months before the application are back pay, even inside its quarter or year.
    application_month = periods.month_start(applied)
    application_period = periods.period_containing(program.frequency, applied)
    if application_period < application_month:
        application_period = periods.next_period(program.frequency, application_period)
    start = data.get("start_month")
    reason = data.get("back_pay_reason") or None
    if start is None:
        start = (
            first_payable(program, person, applied) if program.pays_people else application_period
        )
        if start is None:
            raise Invalid(
                errors={
                    "person_id": [_("This person meets no rule of the program within five years.")]
                }
            )
    start = periods.period_containing(program.frequency, start)
    if start < application_period and not reason:
        raise Invalid(
            errors={
                "back_pay_reason": [
                    _("Payment before the month of application needs a back-pay reason.")
                ]
            }
        )
    if start >= application_period:
        reason = None
    if program.pays_people:
        table = program.table_for(start)
        if table is None or rules.rule_for(table.rules, facts_of(person, start)) is None:
            raise Invalid(
                errors={
                    "start_month": [
                        _("The person meets no rule of the program in the first period paid.")
                    ]
                }
            )
    open_one = db.session.scalar(
        sa.select(Enrolment.id).where(
            Enrolment.program_id == program.id,
            Enrolment.status.in_([s.value for s in OPEN_ENROLMENT]),
            *(getattr(Enrolment, k) == v for k, v in subject.items() if k != "id_birth_date"),
        )
    )
    if open_one:
        raise Conflict(_l("Already enrolled or applied in this program."))
    enrolment = Enrolment(
        program=program,
        region=region,
        applied_on=applied,
        start_month=start,
        back_pay_reason=reason,
        note=data.get("note") or "",
        created_by_id=by.id,
        **subject,
    )
    set_account(enrolment, data)
    db.session.add(enrolment)
    db.session.flush()
    audit.record(
        "subsidies.enrolment_applied",
        enrolment,
        actor=by,
        changes={
            "program": program.code,
            "start_month": start.isoformat(),
            "back_pay_reason": reason,
            "account": enrolment.account_masked,
        },
    )
    return enrolment


def transition(enrolment: Enrolment, action: str, by, *, audit_note: str = "", **changes) -> None:
    audit.record(
        f"subsidies.enrolment_{action}", enrolment, actor=by, changes=changes, note=audit_note
    )


def review(enrolment: Enrolment, approve: bool, note: str, by) -> Enrolment:
    """The township's first review (初审)."""
    if not (is_local_staff_of(by, enrolment.region)):
        raise forbidden()
    if enrolment.status != EnrolmentStatus.APPLIED.value:
        raise Conflict(_l("Only a new application can be reviewed."))
    enrolment.status = (EnrolmentStatus.REVIEWED if approve else EnrolmentStatus.REJECTED).value
    enrolment.reviewed_by_id = by.id
    enrolment.reviewed_at = utcnow()
    enrolment.decision_note = note or ""
    transition(enrolment, "reviewed" if approve else "rejected", by, note=note)
    return enrolment


def decide(
    enrolment: Enrolment, approve: bool, note: str, by, today: date | None = None
) -> Enrolment:
    """The county's approval (审批), which starts the public notice; or its refusal, also
    possible during the notice when an objection holds."""
    require_county(by, enrolment.program.region)
    if enrolment.status not in (EnrolmentStatus.REVIEWED.value, EnrolmentStatus.IN_NOTICE.value):
        raise Conflict(_l("The township has not reviewed this application."))
    if approve and enrolment.status != EnrolmentStatus.REVIEWED.value:
        raise Conflict(_l("This application is already approved."))
    if approve and by.id in (enrolment.created_by_id, enrolment.reviewed_by_id):
        raise forbidden(_l("Whoever registered or reviewed an application cannot approve it."))
    if not approve and not (note or "").strip():
        raise Invalid(errors={"note": [_("Say why the application is refused.")]})
    today = today or local_today()
    if approve:
        enrolment.status = EnrolmentStatus.IN_NOTICE.value
        enrolment.approved_by_id = by.id
        enrolment.approved_at = utcnow()
        enrolment.notice_until = notice_ends_on(today, enrolment.program.notice_days)
    else:
        enrolment.status = EnrolmentStatus.REJECTED.value
    enrolment.decision_note = note or ""
    transition(
        enrolment,
        "approved" if approve else "refused",
        by,
        note=note,
        notice_until=enrolment.notice_until.isoformat() if approve else None,
    )
    return enrolment


def activate(enrolment: Enrolment, today: date) -> None:
    enrolment.status = EnrolmentStatus.ACTIVE.value
    enrolment.activated_on = today
    enrolment.arrears_from = enrolment.start_month
    enrolment.next_review_on = periods.add_months(today, enrolment.program.review_months).replace(
        day=min(today.day, 28)
    )
    transition(enrolment, "activated", None, start_month=enrolment.start_month.isoformat())


def activate_due(now=None) -> int:
    """Scheduled: enrolments whose public notice is over become active."""
    today = local_date(now) if now else local_today()
    due = list(
        db.session.scalars(
            sa.select(Enrolment).where(
                Enrolment.status == EnrolmentStatus.IN_NOTICE.value,
                Enrolment.notice_until < today,
            )
        )
    )
    for enrolment in due:
        activate(enrolment, today)
    db.session.flush()
    return len(due)


def candidates(program: Program, month: date):
    """People of the county who reach the program's lowest age in ``month`` (their first
    payable period is the next one) and are not enrolled: the monthly candidate list."""
    ages = [
        rule.min_age for table in program.tables for rule in table.rules if rule.min_age is not None
    ]
    if not ages:
        return sa.select(Person).where(sa.false())
    age = min(ages)
    first = periods.month_start(month)
    last = periods.add_months(first, 1) - timedelta(days=1)
    # Reaching the age in the month: not yet of age the day before it began, of age by its
    # last day (a 29 February birthday counts on 1 March in other years, as age_on does).
    born_after = rules.latest_birth_for_age(age, first - timedelta(days=1))
    born_by = rules.latest_birth_for_age(age, last)
    enrolled = sa.select(Enrolment.person_id).where(
        Enrolment.program_id == program.id,
        Enrolment.status.in_([s.value for s in OPEN_ENROLMENT]),
        Enrolment.person_id.is_not(None),
    )
    return (
        sa.select(Person)
        .where(
            Person.region_id.in_(generation.county_region_ids(program)),
            Person.birth_date > born_after,
            Person.birth_date <= born_by,
            Person.death_date.is_(None),
            Person.moved_out_on.is_(None),
            Person.id.not_in(enrolled),
        )
        .order_by(Person.birth_date, Person.id)
    )
