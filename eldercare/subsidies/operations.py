"""What staff and jobs do with subsidies: programs and rule tables, the enrolment lifecycle,
batches drawn up by one person and approved by another, overrides and reversals.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.core import audit, resident_id
from eldercare.core.db import local_date, local_today, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.periods import notice_ends_on
from eldercare.core.permissions import is_county_staff_of, is_local_staff_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Level, Region
from eldercare.regions.operations import county_settings_for
from eldercare.subsidies import generation, periods, rules
from eldercare.subsidies.models import (
    LIVE_PAYMENT,
    OPEN_ENROLMENT,
    PERSON_KINDS,
    Basis,
    Batch,
    BatchStatus,
    Enrolment,
    EnrolmentStatus,
    ExceptionCode,
    Payment,
    PaymentKind,
    PaymentStatus,
    Program,
    ProgramKind,
    Rule,
    RuleTable,
    program_exclusion,
)


def _forbidden(message=None) -> AppError:
    return AppError(403, message or _l("You do not have permission to do this."))


# --- who may do what ---------------------------------------------------------------------


def may_manage_program(user, program: Program) -> bool:
    return is_county_staff_of(user, program.region)


def _require_county(user, region: Region) -> None:
    if not is_county_staff_of(user, region):
        raise _forbidden(_l("Only county staff of this county may do this."))


# --- programs and rule tables --------------------------------------------------------------

PROGRAM_FIELDS = (
    "code",
    "name",
    "kind",
    "basis",
    "frequency",
    "timing",
    "pay_day",
    "notice_days",
    "review_months",
    "bank_columns",
    "active",
)


def _program_snapshot(program: Program) -> dict:
    return {field: getattr(program, field) for field in PROGRAM_FIELDS}


def _check_program(data: dict) -> None:
    pays_people = ProgramKind(data["kind"]) in PERSON_KINDS
    if pays_people and data["basis"] != Basis.PERSON.value:
        raise Invalid(errors={"basis": [_("A program for people pays per person.")]})
    if not pays_people and data["basis"] == Basis.PERSON.value:
        raise Invalid(
            errors={
                "basis": [_("A facility program pays per facility, bed, person served or meal.")]
            }
        )
    if data["basis"] == Basis.MEAL.value and data["timing"] != "arrears":
        raise Invalid(
            errors={"timing": [_("Meals are counted after they are served: pay in arrears.")]}
        )


def create_program(county: Region, data: dict, by) -> Program:
    _require_county(by, county)
    if county.level != Level.COUNTY.value:
        raise Invalid(errors={"region_id": [_("A program belongs to a county.")]})
    _check_program(data)
    if db.session.scalar(
        sa.select(Program.id).where(Program.region_id == county.id, Program.code == data["code"])
    ):
        raise Conflict(errors={"code": [_("This county already has a program with this code.")]})
    program = Program(
        region=county, created_by_id=by.id, **{k: data[k] for k in PROGRAM_FIELDS if k in data}
    )
    db.session.add(program)
    db.session.flush()
    audit.record("subsidies.program_created", program, actor=by, changes=_program_snapshot(program))
    return program


def update_program(program: Program, data: dict, by) -> Program:
    _require_county(by, program.region)
    frozen_fields = {"kind", "basis", "frequency"}
    used = db.session.scalar(sa.select(Batch.id).where(Batch.program_id == program.id).limit(1))
    for field in frozen_fields:
        if used and field in data and data[field] != getattr(program, field):
            raise Conflict(
                errors={field: [_("Batches exist: what the program pays for cannot change.")]}
            )
    merged = {**_program_snapshot(program), **data}
    _check_program(merged)
    before = _program_snapshot(program)
    for field in PROGRAM_FIELDS:
        if field in data and field != "code":
            setattr(program, field, data[field])
    db.session.flush()
    audit.record(
        "subsidies.program_updated",
        program,
        actor=by,
        changes=audit.changes_between(before, _program_snapshot(program)),
    )
    return program


def set_exclusions(program: Program, other_ids: list[int], by) -> list[Program]:
    """Programs that exclude this one (symmetric: each excludes the other)."""
    _require_county(by, program.region)
    others = list(
        db.session.scalars(
            sa.select(Program).where(Program.id.in_(other_ids), Program.id != program.id)
        )
    )
    for other in others:
        if not is_county_staff_of(by, other.region) and other.region_id != program.region_id:
            raise Invalid(errors={"other_ids": [_("Choose programs of your own county.")]})
    before = sorted(exclusions_of(program))
    db.session.execute(
        sa.delete(program_exclusion).where(
            sa.or_(
                program_exclusion.c.program_id == program.id,
                program_exclusion.c.other_id == program.id,
            )
        )
    )
    rows = []
    for other in others:
        rows += [
            {"program_id": program.id, "other_id": other.id},
            {"program_id": other.id, "other_id": program.id},
        ]
    if rows:
        db.session.execute(sa.insert(program_exclusion), rows)
    audit.record(
        "subsidies.exclusions_set",
        program,
        actor=by,
        changes={"excludes": [before, sorted(o.id for o in others)]},
    )
    return others


def exclusions_of(program: Program) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(program_exclusion.c.other_id).where(
                program_exclusion.c.program_id == program.id
            )
        )
    )


def _rule_rows(program: Program, rows: list[dict]) -> list[Rule]:
    built = []
    for position, row in enumerate(rows):
        if not program.pays_people and (
            row.get("min_age") is not None
            or row.get("max_age") is not None
            or row.get("economic_statuses")
            or row.get("ability_levels")
        ):
            raise Invalid(
                errors={
                    "rules": [
                        _(
                            "Row %(n)d: a facility program's rules ask only for the star level.",
                            n=position + 1,
                        )
                    ]
                }
            )
        if program.pays_people and row.get("star_levels"):
            raise Invalid(
                errors={
                    "rules": [
                        _(
                            "Row %(n)d: a program for people does not ask for a star level.",
                            n=position + 1,
                        )
                    ]
                }
            )
        built.append(
            Rule(
                position=position,
                label=row.get("label") or "",
                min_age=row.get("min_age"),
                max_age=row.get("max_age"),
                economic_statuses=sorted(row.get("economic_statuses") or []),
                ability_levels=sorted(row.get("ability_levels") or []),
                star_levels=sorted(row.get("star_levels") or []),
                amount_fen=row["amount_fen"],
            )
        )
    if not built:
        raise Invalid(errors={"rules": [_("A rule table needs at least one row.")]})
    problems = rules.overlap_errors(built)
    if problems:
        raise Invalid(errors={"rules": problems})
    return built


def save_rule_table(
    program: Program, effective_from: date, rows: list[dict], note: str, by
) -> RuleTable:
    """A new version of the program's amounts from a period on, or new rows for a version
    not yet used by an approved batch."""
    _require_county(by, program.region)
    if not periods.is_period_start(program.frequency, effective_from):
        raise Invalid(
            errors={"effective_from": [_("A rule table takes effect at the start of a period.")]}
        )
    built = _rule_rows(program, rows)
    table = db.session.scalar(
        sa.select(RuleTable).where(
            RuleTable.program_id == program.id, RuleTable.effective_from == effective_from
        )
    )
    if table is not None and table.is_frozen:
        raise Conflict(
            errors={
                "effective_from": [
                    _(
                        "This version has been paid with: add a new version from a later"
                        " period instead."
                    )
                ]
            }
        )
    approved_later = db.session.scalar(
        sa.select(Batch.id)
        .where(
            Batch.program_id == program.id,
            Batch.status != BatchStatus.DRAFT.value,
            Batch.period >= effective_from,
        )
        .limit(1)
    )
    if approved_later:
        raise Conflict(
            errors={
                "effective_from": [
                    _("A batch from this period on is already approved: choose a later period.")
                ]
            }
        )
    before = [_rule_dict(rule) for rule in table.rules] if table else []
    if table is None:
        version = (
            db.session.scalar(
                sa.select(sa.func.max(RuleTable.version)).where(RuleTable.program_id == program.id)
            )
            or 0
        ) + 1
        table = RuleTable(
            program=program, version=version, effective_from=effective_from, created_by_id=by.id
        )
        db.session.add(table)
    else:
        # Draft payments drawn up with the old rows are excluded (the next generation or the
        # approval's re-check draws them again with the new amounts) and let go of the rows.
        old_rules = [rule.id for rule in table.rules]
        db.session.execute(
            sa.update(Payment)
            .where(
                Payment.rule_id.in_(old_rules),
                Payment.status.in_([PaymentStatus.PENDING.value, PaymentStatus.HELD.value]),
            )
            .values(status=PaymentStatus.EXCLUDED.value, exception="amount_changed")
        )
        db.session.execute(
            sa.update(Payment)
            .where(
                Payment.rule_id.in_(old_rules),
                Payment.status == PaymentStatus.EXCLUDED.value,
            )
            .values(rule_id=None)
        )
        table.rules.clear()
        db.session.flush()
    table.note = note or ""
    table.rules.extend(built)
    db.session.flush()
    db.session.expire(program, ["tables"])
    audit.record(
        "subsidies.rules_saved",
        program,
        actor=by,
        changes={
            "version": table.version,
            "effective_from": effective_from.isoformat(),
            "rules": [before, [_rule_dict(rule) for rule in built]],
        },
    )
    return table


def _rule_dict(rule: Rule) -> dict:
    return {
        "min_age": rule.min_age,
        "max_age": rule.max_age,
        "economic_statuses": rule.economic_statuses,
        "ability_levels": rule.ability_levels,
        "star_levels": rule.star_levels,
        "amount_fen": rule.amount_fen,
    }


def delete_rule_table(table: RuleTable, by) -> None:
    program = table.program
    _require_county(by, program.region)
    if table.is_frozen or db.session.scalar(
        sa.select(Payment.id)
        .join(Rule, Rule.id == Payment.rule_id)
        .where(Rule.table_id == table.id)
        .limit(1)
    ):
        raise Conflict(_l("This version has payments: it stays on record."))
    audit.record(
        "subsidies.rules_deleted",
        program,
        actor=by,
        changes={"version": table.version, "effective_from": table.effective_from.isoformat()},
    )
    db.session.delete(table)
    db.session.flush()
    db.session.expire(program, ["tables"])


# --- enrolments ---------------------------------------------------------------------------


def mask_account(number: str) -> str:
    """6222 **** **** 1234: a bank's prefix and the last four digits."""
    digits = "".join(ch for ch in number if not ch.isspace())
    if len(digits) <= 8:
        return "*" * (len(digits) - 2) + digits[-2:]
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _set_account(enrolment: Enrolment, data: dict) -> None:
    number = (data.get("account_number") or "").replace(" ", "")
    if data.get("account_kind"):
        enrolment.account_kind = data["account_kind"]
    if "bank_name" in data:
        enrolment.bank_name = data.get("bank_name") or ""
    if "account_holder" in data:
        enrolment.account_holder = data.get("account_holder") or ""
    if number:
        enrolment.account_number = number
        enrolment.account_masked = mask_account(number)


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
        subject = {"person_id": person.id, "id_birth_date": id_birth_date}
    else:
        facility = db.session.get(Facility, data.get("facility_id") or 0)
        if facility is None or not program.region.contains(facility.region):
            raise Invalid(errors={"facility_id": [_("Choose a facility of this county.")]})
        region = facility.region
        subject = {"facility_id": facility.id}
    if not is_local_staff_of(by, region):
        raise _forbidden(
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
    _set_account(enrolment, data)
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


def _transition(enrolment: Enrolment, action: str, by, **changes) -> None:
    audit.record(f"subsidies.enrolment_{action}", enrolment, actor=by, changes=changes)


def review(enrolment: Enrolment, approve: bool, note: str, by) -> Enrolment:
    """The township's first review (初审)."""
    if not (is_local_staff_of(by, enrolment.region)):
        raise _forbidden()
    if enrolment.status != EnrolmentStatus.APPLIED.value:
        raise Conflict(_l("Only a new application can be reviewed."))
    enrolment.status = (EnrolmentStatus.REVIEWED if approve else EnrolmentStatus.REJECTED).value
    enrolment.reviewed_by_id = by.id
    enrolment.reviewed_at = utcnow()
    enrolment.decision_note = note or ""
    _transition(enrolment, "reviewed" if approve else "rejected", by, note=note)
    return enrolment


def decide(
    enrolment: Enrolment, approve: bool, note: str, by, today: date | None = None
) -> Enrolment:
    """The county's approval (审批), which starts the public notice; or its refusal, also
    possible during the notice when an objection holds."""
    _require_county(by, enrolment.program.region)
    if enrolment.status not in (EnrolmentStatus.REVIEWED.value, EnrolmentStatus.IN_NOTICE.value):
        raise Conflict(_l("The township has not reviewed this application."))
    if approve and enrolment.status != EnrolmentStatus.REVIEWED.value:
        raise Conflict(_l("This application is already approved."))
    if approve and by.id in (enrolment.created_by_id, enrolment.reviewed_by_id):
        raise _forbidden(_l("Whoever registered or reviewed an application cannot approve it."))
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
    _transition(
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
    _transition(enrolment, "activated", None, start_month=enrolment.start_month.isoformat())


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


def suspend(enrolment: Enrolment, reason: str, from_month: date, note: str, by) -> Enrolment:
    _require_county(by, enrolment.program.region)
    if enrolment.status != EnrolmentStatus.ACTIVE.value:
        raise Conflict(_l("Only an active enrolment can be suspended."))
    enrolment.status = EnrolmentStatus.SUSPENDED.value
    enrolment.suspend_reason = reason
    enrolment.suspended_from = periods.period_containing(enrolment.program.frequency, from_month)
    enrolment.decision_note = note or ""
    _transition(
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
    _require_county(by, enrolment.program.region)
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
    _transition(
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
        _require_county(by, enrolment.program.region)
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
    _transition(
        enrolment,
        "stopped",
        by,
        reason=reason,
        stop_month=enrolment.stop_month.isoformat(),
        note=note,
    )
    return enrolment


def record_review(enrolment: Enrolment, note: str, by, today: date | None = None) -> Enrolment:
    """The yearly review (年度复审) found the person still eligible."""
    if not (is_local_staff_of(by, enrolment.region)):
        raise _forbidden()
    if enrolment.status not in (EnrolmentStatus.ACTIVE.value, EnrolmentStatus.SUSPENDED.value):
        raise Conflict(_l("Only an enrolment being paid is reviewed."))
    today = today or local_today()
    before = enrolment.next_review_on
    enrolment.next_review_on = periods.add_months(today, enrolment.program.review_months).replace(
        day=min(today.day, 28)
    )
    _transition(
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


def change_account(enrolment: Enrolment, data: dict, by) -> Enrolment:
    if not (is_local_staff_of(by, enrolment.region)):
        raise _forbidden()
    if enrolment.status in (EnrolmentStatus.STOPPED.value, EnrolmentStatus.REJECTED.value):
        raise Conflict(_l("This enrolment has already ended."))
    before = {
        "account": enrolment.account_masked,
        "bank": enrolment.bank_name,
        "holder": enrolment.account_holder,
        "kind": enrolment.account_kind,
    }
    _set_account(enrolment, data)
    after = {
        "account": enrolment.account_masked,
        "bank": enrolment.bank_name,
        "holder": enrolment.account_holder,
        "kind": enrolment.account_kind,
    }
    audit.record(
        "subsidies.account_changed",
        enrolment,
        actor=by,
        changes=audit.changes_between(before, after),
    )
    return enrolment


def reveal_account(enrolment: Enrolment, by) -> str:
    """The full account number, for staff of the enrolment's scope; every reveal audited."""
    if not (is_local_staff_of(by, enrolment.region)):
        raise _forbidden()
    audit.record("subsidies.account_revealed", enrolment, actor=by)
    return enrolment.account_number or ""


def stop_deceased(now=None) -> int:
    """Scheduled: enrolments of people whose death has been recorded stop from the month
    after the death (payment in the month of death is due in full); applications still
    being decided are refused."""
    rows = list(
        db.session.execute(
            sa.select(Enrolment, Person.death_date)
            .join(Person, Person.id == Enrolment.person_id)
            .where(
                Person.death_date.is_not(None),
                Enrolment.status.in_([s.value for s in OPEN_ENROLMENT]),
            )
        )
    )
    for enrolment, died in rows:
        month_after = periods.next_period(
            enrolment.program.frequency,
            periods.period_containing(enrolment.program.frequency, died),
        )
        if enrolment.status in (
            EnrolmentStatus.APPLIED.value,
            EnrolmentStatus.REVIEWED.value,
            EnrolmentStatus.IN_NOTICE.value,
        ):
            enrolment.status = EnrolmentStatus.REJECTED.value
            enrolment.decision_note = "death"
            _transition(enrolment, "refused", None, note="death", died=died.isoformat())
            continue
        stop(enrolment, "death", month_after, "", None)
    db.session.flush()
    return len(rows)


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
            Person.id.not_in(enrolled),
        )
        .order_by(Person.birth_date, Person.id)
    )


# --- batches -------------------------------------------------------------------------------


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
    _require_county(by, program.region)
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
    _require_county(by, batch.program.region)
    batch = lock_batch(batch)
    if batch.is_frozen:
        raise Conflict(_l("This batch is already approved."))
    approver_id = by.id
    if approver_id in (batch.made_by_id, batch.generated_by_id):
        raise _forbidden(_l("The maker of a batch cannot approve it: ask a colleague."))
    released = db.session.scalar(
        sa.select(Payment.id)
        .where(Payment.batch_id == batch.id, Payment.override_by_id == approver_id)
        .limit(1)
    )
    if released:
        raise _forbidden(
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
    _require_county(by, batch.program.region)
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


def exclude_payment(payment: Payment, reason: str, by) -> Payment:
    """Leave a payment out of a draft batch, with the reason: drawing the batch up again does
    not bring it back; like a held payment nobody released, its period stays owed after
    approval (a later batch pays it as back pay unless it is excluded there too)."""
    batch = payment.batch
    _require_county(by, batch.program.region)
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
    _require_county(by, batch.program.region)
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


def reverse(payment: Payment, reason: str, by, repay: bool = False) -> Payment:
    """A correction: a reversal entry of minus the amount, never an edit of the payment.
    ``repay`` marks the period as owed again, so the next batch pays what is due now."""
    _require_county(by, payment.program.region)
    if payment.status != PaymentStatus.PAID.value or payment.kind == PaymentKind.REVERSAL.value:
        raise Conflict(_l("Only a paid payment can be reversed."))
    if not (reason or "").strip():
        raise Invalid(errors={"reason": [_("Say why the payment is reversed.")]})
    payment.status = PaymentStatus.REVERSED.value
    entry = Payment(
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
        note=reason.strip(),
        created_at=utcnow(),
    )
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


def live_payment(enrolment_id: int, period: date) -> Payment | None:
    return db.session.scalar(
        sa.select(Payment).where(
            Payment.enrolment_id == enrolment_id,
            Payment.period == period,
            Payment.status.in_(LIVE_PAYMENT),
            Payment.kind != PaymentKind.REVERSAL.value,
        )
    )
