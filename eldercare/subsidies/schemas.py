"""Input schemas of the subsidy pages: programs, rule tables, applications, the enrolment
actions, batches, the bank's return and the reports. Money is typed in yuan and kept as
integer fen, converted exactly."""

from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates, validates_schema
from werkzeug.datastructures import MultiDict

from eldercare.core.db import local_today
from eldercare.core.i18n import plain_messages
from eldercare.core.schemas import InputSchema, Money, PageArgs, choice, id_field
from eldercare.people.models import AbilityLevel, EconomicStatus
from eldercare.people.schemas import check_id_number
from eldercare.subsidies import periods
from eldercare.subsidies.bankfile import COLUMNS as BANK_COLUMNS
from eldercare.subsidies.bankfile import REQUIRED_COLUMNS
from eldercare.subsidies.models import (
    AccountKind,
    BackPayReason,
    Basis,
    EnrolmentStatus,
    Frequency,
    PaymentKind,
    PaymentStatus,
    ProgramKind,
    RecoveryStatus,
    Resolution,
    StopReason,
    SuspendReason,
    Timing,
)

#: The most a rule pays a month (the database allows 1,000,000 yuan).
MAX_AMOUNT_FEN = 100_000_000
#: Rows of the rule-table form; more appear when a table already has more.
GRID_ROWS = 8
RULE_FIELDS = (
    "label",
    "min_age",
    "max_age",
    "economic_statuses",
    "ability_levels",
    "star_levels",
    "amount",
)
RULE_LIST_FIELDS = ("economic_statuses", "ability_levels", "star_levels")


class Yuan(Money):
    """An amount of a rule table, in yuan with at most two decimals, kept as integer fen
    (the app's one money field, up to 1,000,000 yuan a month)."""

    def __init__(self, **kwargs):
        super().__init__(max_fen=MAX_AMOUNT_FEN, **kwargs)


class Month(fields.Field):
    """A calendar month typed YYYY-MM (what <input type="month"> sends): its first day."""

    def _deserialize(self, value, attr, data, **kwargs) -> date:
        text = str(value).strip()
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
        if match is None:
            raise ValidationError(_l("Give a month as YYYY-MM."))
        if not 1 <= int(match.group(2)) <= 12:
            raise ValidationError(
                _l("There is no month %(month)s: months run from 01 to 12.", month=text)
            )
        month = date(int(match.group(1)), int(match.group(2)), 1)
        if not date(2000, 1, 1) <= month <= date(2099, 12, 1):
            raise ValidationError(_l("Choose a month from 2000 to 2099."))
        return month


def _note(max_length: int = 255, **kwargs) -> fields.String:
    return fields.String(load_default="", validate=validate.Length(max=max_length), **kwargs)


def _not_future(value: date) -> None:
    if value > local_today():
        raise ValidationError(_l("The date is in the future."))


# --- programs and rule tables -------------------------------------------------------------


class ProgramSettingsSchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    kind = choice(ProgramKind, required=True)
    basis = choice(Basis, required=True)
    frequency = choice(Frequency, load_default=Frequency.MONTHLY.value)
    timing = choice(Timing, load_default=Timing.ADVANCE.value)
    pay_day = fields.Integer(
        load_default=10,
        validate=validate.Range(min=1, max=28, error=_l("A day of the month from 1 to 28.")),
    )
    notice_days = fields.Integer(
        load_default=7,
        validate=validate.Range(min=1, max=60, error=_l("From 1 to 60 days.")),
    )
    review_months = fields.Integer(
        load_default=12,
        validate=validate.Range(min=1, max=36, error=_l("From 1 to 36 months.")),
    )


class ProgramSchema(ProgramSettingsSchema):
    """A new program. Administrators name its county; county staff create for their own."""

    county_id = id_field(load_default=None, allow_none=True)
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_-]{1,20}$",
            error=_l("Up to 20 letters, digits, hyphens or underscores."),
        ),
    )


class ProgramUpdateSchema(ProgramSettingsSchema):
    active = fields.Boolean(load_default=False)
    #: Columns of the bank file, in the file's order; none chosen: the default columns.
    bank_columns = fields.List(
        fields.String(validate=validate.OneOf(list(BANK_COLUMNS))), load_default=list
    )

    @validates("bank_columns")
    def _bank_needs(self, value, **kwargs):
        missing = [key for key in REQUIRED_COLUMNS if value and key not in value]
        if missing:
            raise ValidationError(_l("The bank file needs the payment reference and the amount."))


class RuleRowSchema(InputSchema):
    label = fields.String(load_default="", validate=validate.Length(max=80))
    min_age = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=130, error=_l("Age 0 to 130.")),
    )
    max_age = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=130, error=_l("Age 0 to 130.")),
    )
    economic_statuses = fields.List(choice(EconomicStatus), load_default=list)
    ability_levels = fields.List(choice(AbilityLevel), load_default=list)
    star_levels = fields.List(
        fields.Integer(
            validate=validate.Range(min=1, max=5, error=_l("Choose a star level from 1 to 5."))
        ),
        load_default=list,
    )
    amount_fen = Yuan(data_key="amount", required=True)

    @validates_schema
    def _ages(self, data, **kwargs):
        low, high = data.get("min_age"), data.get("max_age")
        if low is not None and high is not None and low > high:
            raise ValidationError(_l("The lowest age is above the highest."), "max_age")


class RuleRows(fields.Field):
    """The rows of a rule table, each checked by ``RuleRowSchema``; a bad row's messages
    name the row (as the page numbers them, from 1)."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[dict]:
        if not isinstance(value, list):
            raise ValidationError(_l("Not a valid list."))
        rows, problems = [], []
        for index, item in enumerate(value, start=1):
            # The form gives (line number, row) pairs; a JSON body gives the rows themselves.
            is_pair = isinstance(item, list | tuple) and len(item) == 2
            position, row = item if is_pair else (index, item)
            if not isinstance(row, dict):
                problem = str(_l("Invalid type."))
                problems.append(_l("Row %(n)d: %(problem)s", n=position, problem=problem))
                continue
            try:
                rows.append(RuleRowSchema().load(row))
            except ValidationError as err:
                for messages in plain_messages(err.messages).values():
                    for message in messages if isinstance(messages, list) else [messages]:
                        problems.append(
                            _l("Row %(n)d: %(problem)s", n=position, problem=str(message))
                        )
        if problems:
            raise ValidationError(problems)
        if not rows:
            raise ValidationError(_l("A rule table needs at least one row."))
        return rows


class RuleTableSchema(InputSchema):
    effective_from = Month(required=True)
    note = _note()
    rules = RuleRows(required=True)

    @staticmethod
    def from_form(form: MultiDict) -> dict:
        """The grid of the form (``rules-<n>-<field>``) as one row per line typed in; empty
        lines are left out, the others keep their line number for the messages."""
        rows = []
        count = sum(1 for key in form if key.startswith("rules-") and key.endswith("-amount"))
        for n in range(max(count, GRID_ROWS) + 50):
            prefix = f"rules-{n}-"
            if not any(key.startswith(prefix) for key in form):
                continue
            row = {}
            for name in RULE_FIELDS:
                if name in RULE_LIST_FIELDS:
                    values = [v for v in form.getlist(prefix + name) if v.strip()]
                    if values:
                        row[name] = values
                else:
                    value = (form.get(prefix + name) or "").strip()
                    if value:
                        row[name] = value
            if row:
                rows.append((n + 1, row))
        return {
            "effective_from": form.get("effective_from"),
            "note": form.get("note"),
            "rules": rows,
        }

    @staticmethod
    def typed_grid(form: MultiDict) -> list[dict]:
        """The grid as it was typed, every line (at least ``GRID_ROWS``), to show a refused
        form again with what was typed."""
        rows = []
        count = sum(1 for key in form if key.startswith("rules-") and key.endswith("-amount"))
        for n in range(max(count, GRID_ROWS)):
            prefix = f"rules-{n}-"
            rows.append(
                {
                    name: form.getlist(prefix + name)
                    if name in RULE_LIST_FIELDS
                    else form.get(prefix + name, "")
                    for name in RULE_FIELDS
                }
            )
        return rows


class ExclusionsSchema(InputSchema):
    other_ids = fields.List(id_field(), load_default=list, validate=validate.Length(max=100))


class EmptySchema(InputSchema):
    """An action that takes no input (the operation checks everything)."""


# --- enrolments ---------------------------------------------------------------------------


ACCOUNT_NUMBER = re.compile(r"^[0-9][0-9 ]{6,38}[0-9]$")


def _account_number(value: str) -> None:
    digits = value.replace(" ", "")
    if not ACCOUNT_NUMBER.match(value) or not 8 <= len(digits) <= 30:
        raise ValidationError(_l("An account number is 8 to 30 digits."))


class AccountSchema(InputSchema):
    account_kind = choice(AccountKind, load_default=AccountKind.BANK.value)
    bank_name = fields.String(load_default="", validate=validate.Length(max=60))
    account_holder = fields.String(load_default="", validate=validate.Length(max=50))
    account_number = fields.String(validate=_account_number)


class ApplicationSchema(AccountSchema):
    applied_on = fields.Date(load_default=local_today, validate=_not_future)
    start_month = Month(load_default=None, allow_none=True)
    back_pay_reason = choice(BackPayReason, load_default=None, allow_none=True)
    note = _note()


class PersonApplicationSchema(ApplicationSchema):
    """For a program paying people: the person chosen from the registry (a candidate list,
    the registry page) or named by full ID number."""

    person_id = id_field()
    id_number = fields.String(validate=check_id_number)

    @validates_schema
    def _who(self, data, **kwargs):
        if data.get("person_id") is None and not data.get("id_number"):
            raise ValidationError(_l("Give the person's ID number."), "id_number")


class FacilityApplicationSchema(ApplicationSchema):
    facility_id = id_field(required=True)


class ReviewSchema(InputSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    note = _note()

    @validates_schema
    def _why(self, data, **kwargs):
        if data.get("decision") == "reject" and not data.get("note"):
            raise ValidationError(_l("Say why the application is rejected."), "note")


class DecisionSchema(InputSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "refuse"]))
    note = _note()


class SuspendSchema(InputSchema):
    reason = choice(SuspendReason, required=True)
    from_month = Month(required=True)
    note = _note()


class ResumeSchema(InputSchema):
    back_pay_reason = choice(BackPayReason, load_default=None, allow_none=True)
    note = _note()


class StopSchema(InputSchema):
    reason = choice(StopReason, required=True)
    stop_month = Month(load_default=None, allow_none=True)
    note = _note()


class YearlyReviewSchema(InputSchema):
    note = _note()


class AccountChangeSchema(AccountSchema):
    @validates_schema
    def _holder(self, data, **kwargs):
        if not data.get("account_holder"):
            raise ValidationError(_l("Give the account holder's name."), "account_holder")


class EnrolmentQuery(PageArgs):
    program_id = id_field()
    status = choice(EnrolmentStatus)
    region_id = id_field()
    q = fields.String(validate=validate.Length(max=50))


class CandidateQuery(PageArgs):
    month = Month(load_default=None, allow_none=True)


# --- batches ------------------------------------------------------------------------------


class GenerateSchema(InputSchema):
    period = Month(required=True)


class OverrideSchema(InputSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))


class VoidSchema(InputSchema):
    """Voiding a draft batch: always with the reason."""

    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        error_messages={"required": _l("Say why the batch is voided.")},
    )


class ExcludeSchema(InputSchema):
    """Leaving a payment out of a draft batch: always with the reason."""

    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        error_messages={"required": _l("Say why the payment is excluded.")},
    )


class BatchQuery(PageArgs):
    status = choice(PaymentStatus)
    kind = choice(PaymentKind)
    q = fields.String(validate=validate.Length(max=50))
    xpage = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=100000, error=_l("Page must be between 1 and 100000.")),
    )


# --- bank files, the bank's return and reports -----------------------------------------------

#: What a failed or returned payment's resolution may also do to the enrolment.
ENROLMENT_ACTIONS = ("stop", "suspend")


class PeriodField(fields.String):
    """A month written YYYY-MM, from 2000 up to a year ahead (batches are drawn up ahead)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            month = datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise ValidationError(_l("Give a month as YYYY-MM.")) from None
        if month.year < 2000 or month > periods.add_months(local_today(), 12):
            raise ValidationError(_l("Choose a month up to a year ahead."))
        return month


class ReportQuery(InputSchema):
    program_id = id_field()
    period = PeriodField()
    region_id = id_field()


class ResolveForm(InputSchema):
    resolution = choice([r.value for r in Resolution], required=True)
    note = fields.String(load_default="")
    enrolment_action = choice(ENROLMENT_ACTIONS)
    stop_reason = choice([r.value for r in StopReason])
    suspend_reason = choice([r.value for r in SuspendReason])
    from_month = PeriodField()


class ReverseForm(InputSchema):
    reason = fields.String(required=True)
    repay = fields.Boolean(load_default=False)


# --- recoveries ---------------------------------------------------------------------------


class RecoveryQuery(PageArgs):
    #: To recover (the default), recovered, or all.
    status = choice(
        [*(s.value for s in RecoveryStatus), "all"], load_default=RecoveryStatus.TO_RECOVER.value
    )
    program_id = id_field()


class RecoveredSchema(InputSchema):
    """A payment recorded as recovered: always with how (a receipt, a bank reference)."""

    note = fields.String(
        required=True,
        validate=validate.Length(
            min=1, max=255, error=_l("Say how the money was recovered, in at most 255 characters.")
        ),
        error_messages={"required": _l("Say how the money was recovered.")},
    )
