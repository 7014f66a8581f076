"""Input schemas of the visit operations (shared by the pages and the API) and outputs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from eldercare.core.db import local_today
from eldercare.core.schemas import InputSchema, PageArgs, choice, id_field
from eldercare.people.models import AbilityLevel
from eldercare.visits.models import (
    FINDING_CHOICES,
    Category,
    DueStatus,
    EndReason,
    EventKind,
    Method,
    RateBasis,
    Tier,
)

BEIJING = ZoneInfo("Asia/Shanghai")
#: How far back a visit may be entered (a visitor catching up on paper notes).
BACKDATE_DAYS = 31
#: Clock difference tolerated between a phone and the server.
CLOCK_SKEW = timedelta(minutes=10)
TOKEN = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def _local_time(**kwargs) -> fields.AwareDateTime:
    # A time typed without a zone is Beijing time (what the visitor reads on the phone).
    return fields.AwareDateTime(default_timezone=BEIJING, **kwargs)


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(load_default="", validate=validate.Length(max=max_length), **kwargs)


def _not_future(value: datetime) -> None:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValidationError(_l("The time is in the future."))


class EnrolSchema(InputSchema):
    person_id = id_field(required=True)
    #: Only what the registry cannot show; the other categories come from the person's data.
    categories = fields.List(choice([Category.SEVERELY_HANDICAPPED]), load_default=list)


class EnrolManySchema(InputSchema):
    person_ids = fields.List(id_field(), required=True, validate=validate.Length(min=1, max=500))


class OverrideSchema(InputSchema):
    """Set a manual tier with its reason, or clear it (empty tier) to use the computed one."""

    tier = choice(Tier, allow_none=True, load_default=None)
    reason = _text(255)

    @validates_schema
    def _reason_needed(self, data, **kwargs):
        if data.get("tier") and not data.get("reason"):
            raise ValidationError(_l("Say why the tier differs from the computed one."), "reason")


class AssignSchema(InputSchema):
    visitor_id = id_field(required=True)


class EndSchema(InputSchema):
    reason = choice(EndReason, required=True)
    ended_on = fields.Date(required=True)

    @validates("ended_on")
    def _not_future(self, value, **kwargs):
        if value > local_today():
            raise ValidationError(_l("The date is in the future."))


class VisitSchema(InputSchema):
    visited_at = _local_time(
        required=True,
        metadata={"enforced": f"Not in the future, and at most {BACKDATE_DAYS} days ago."},
    )
    method = choice(Method, required=True)
    living_conditions = choice(FINDING_CHOICES["living_conditions"], required=True)
    health = choice(FINDING_CHOICES["health"], required=True)
    mood = choice(FINDING_CHOICES["mood"], required=True)
    family_support = choice(FINDING_CHOICES["family_support"], required=True)
    safety_hazards = _text(500)
    services_received = _text(500)
    needs_referred = _text(500)
    summary = _text(1000)
    health_notes = _text(1000)
    location_text = _text(200)
    follow_up = _text(500)
    follow_up_due_on = fields.Date(allow_none=True, load_default=None)
    client_token = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(TOKEN, error=_l("Not a valid form token.")),
    )
    #: Sent with the saved visit's token to apply the form to it instead of recording anew.
    apply_corrections = fields.Boolean(load_default=False)
    corrects_token = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(TOKEN, error=_l("Not a valid form token.")),
    )

    @validates("visited_at")
    def _when(self, value: datetime, **kwargs):
        _not_future(value)
        if value < datetime.now(UTC) - timedelta(days=BACKDATE_DAYS):
            raise ValidationError(
                _l("Visits older than %(days)s days cannot be entered.", days=BACKDATE_DAYS)
            )

    @validates_schema
    def _follow_up(self, data, **kwargs):
        due = data.get("follow_up_due_on")
        if due is not None and not data.get("follow_up"):
            raise ValidationError(_l("Describe the problem to follow up."), "follow_up")
        if due is not None and due < local_today():
            raise ValidationError(_l("The date is in the past."), "follow_up_due_on")


class EventSchema(InputSchema):
    kind = choice(EventKind, required=True)
    occurred_at = _local_time(required=True)
    note = _text(500)

    @validates("occurred_at")
    def _when(self, value: datetime, **kwargs):
        _not_future(value)
        if value < datetime.now(UTC) - timedelta(days=BACKDATE_DAYS):
            raise ValidationError(
                _l("Events older than %(days)s days cannot be entered.", days=BACKDATE_DAYS)
            )


class CloseFollowUpSchema(InputSchema):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PolicySchema(InputSchema):
    high_interval_days = fields.Integer(required=True, validate=validate.Range(min=1, max=366))
    key_interval_days = fields.Integer(required=True, validate=validate.Range(min=1, max=366))
    general_interval_days = fields.Integer(required=True, validate=validate.Range(min=1, max=366))
    first_visit_days = fields.Integer(required=True, validate=validate.Range(min=0, max=90))
    high_risk_age = fields.Integer(required=True, validate=validate.Range(min=60, max=120))
    high_ability_level = choice(AbilityLevel, required=True)
    key_ability_level = choice(AbilityLevel, required=True)
    due_soon_days = fields.Integer(required=True, validate=validate.Range(min=0, max=30))
    escalation_days = fields.Integer(required=True, validate=validate.Range(min=1, max=90))
    event_visit_hours = fields.Integer(required=True, validate=validate.Range(min=1, max=168))
    #: Left out: unchanged.
    rate_basis = choice(RateBasis)

    @validates_schema
    def _ordered(self, data, **kwargs):
        high, key, general = (
            data.get("high_interval_days"),
            data.get("key_interval_days"),
            data.get("general_interval_days"),
        )
        if None not in (high, key, general) and not high <= key <= general:
            raise ValidationError(
                _l("Higher tiers are visited at least as often as lower ones."),
                "key_interval_days",
            )


class TargetQuery(PageArgs):
    status = choice(DueStatus)
    tier = choice(Tier)
    region_id = id_field()
    visitor_id = id_field()
    unassigned = fields.Boolean(load_default=False)
    q = fields.String(validate=validate.Length(max=50))
    include_ended = fields.Boolean(load_default=False)


class CandidateQuery(PageArgs):
    region_id = id_field()


class MonthField(fields.String):
    """A calendar month written YYYY-MM."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            month = datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise ValidationError(_l("Give a month as YYYY-MM.")) from None
        if month.year < 2000 or month > local_today():
            raise ValidationError(_l("Choose a month up to this one."))
        return month


class CoverageQuery(InputSchema):
    month = MonthField()
    region_id = id_field()
    #: Which definition of the rate to show (default: the county's choice).
    basis = choice(RateBasis)


# --- API output -----------------------------------------------------------------------------


class DueItemOut(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.String()
    age = fields.Integer()
    village = fields.String()
    tier = fields.String()
    status = fields.String()
    next_due_on = fields.Date(allow_none=True)
    urgent_due_at = fields.DateTime(allow_none=True)
    last_visit_at = fields.DateTime(allow_none=True)


class VisitOut(Schema):
    id = fields.Integer()
    target_id = fields.Integer()
    visited_at = fields.DateTime()
    method = fields.String()
    living_conditions = fields.String()
    health = fields.String()
    mood = fields.String()
    family_support = fields.String()
    summary = fields.String()
    next_due_on = fields.Date(attribute="target.next_due_on", allow_none=True)
