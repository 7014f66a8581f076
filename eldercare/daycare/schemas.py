"""Input schemas of the day-care operations (pages and API share them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates, validates_schema

from eldercare.beds.models import RISKS
from eldercare.beds.schemas import YuanAmount
from eldercare.core.db import local_today
from eldercare.core.schemas import InputSchema, choice, id_field
from eldercare.daycare.models import WEEKDAYS, ActivityCategory, MealType, Severity
from eldercare.visits.schemas import MonthField

BEIJING = ZoneInfo("Asia/Shanghai")
#: How far back attendance, meals and activities may be entered (paper sheets catching up).
BACKDATE_DAYS = 62


def _weekdays(**kwargs) -> fields.List:
    return fields.List(
        fields.Integer(validate=validate.OneOf(WEEKDAYS, error=_l("Not a day of the week."))),
        **kwargs,
    )


def _recent(value) -> None:
    if value > local_today():
        raise ValidationError(_l("The date is in the future."))
    if value < local_today() - timedelta(days=BACKDATE_DAYS):
        raise ValidationError(
            _l("Records older than %(days)s days cannot be entered.", days=BACKDATE_DAYS)
        )


class CenterSchema(InputSchema):
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=10000))
    open_days = _weekdays(required=True, validate=validate.Length(min=1, max=7))
    meal_types = fields.List(choice(MealType), load_default=list)
    meal_price_fen = YuanAmount(data_key="meal_price", required=True)


class ClosedDaySchema(InputSchema):
    day = fields.Date(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=100))

    @validates("day")
    def _sensible(self, value, **kwargs):
        if value < local_today() - timedelta(days=BACKDATE_DAYS):
            raise ValidationError(
                _l("Records older than %(days)s days cannot be entered.", days=BACKDATE_DAYS)
            )


class MemberSchema(InputSchema):
    days = _weekdays(load_default=list)
    transport = fields.Boolean(load_default=False)
    subsidised_meals = fields.Boolean(load_default=False)
    dietary_notes = fields.String(load_default="", validate=validate.Length(max=500))
    emergency_contact = fields.String(load_default="", validate=validate.Length(max=50))
    emergency_phone = fields.String(
        load_default="",
        validate=validate.Regexp(r"^[0-9+\-\s]{0,20}$", error=_l("Not a valid phone number.")),
    )


class NewMemberSchema(MemberSchema):
    """A registered person, named as on the ID card, joining from a date."""

    id_number = fields.String(required=True, validate=validate.Length(min=15, max=24))
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    joined_on = fields.Date(required=True)

    @validates("joined_on")
    def _when(self, value, **kwargs):
        if value > local_today() + timedelta(days=31):
            raise ValidationError(_l("Joining more than a month ahead is not possible."))


class LeaveSchema(InputSchema):
    left_on = fields.Date(required=True, validate=_recent)


class DaySchema(InputSchema):
    day = fields.Date(load_default=None, validate=_recent)


class CheckInSchema(InputSchema):
    """A member by person id, or a walk-in from the registry by ID number and name."""

    day = fields.Date(required=True, validate=_recent)
    person_id = id_field()
    id_number = fields.String(validate=validate.Length(min=15, max=24))
    name = fields.String(validate=validate.Length(min=1, max=50))

    @validates_schema
    def _who(self, data, **kwargs):
        if data.get("person_id") is None and not (data.get("id_number") and data.get("name")):
            raise ValidationError(
                _l("Choose a member, or give the ID number and name of a walk-in."), "id_number"
            )


class MealSchema(InputSchema):
    day = fields.Date(required=True, validate=_recent)
    person_id = id_field(required=True)
    meal_type = choice(MealType, required=True)


class ActivitySchema(InputSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    category = choice(ActivityCategory, required=True)
    starts_at = fields.AwareDateTime(required=True, default_timezone=BEIJING)
    ends_at = fields.AwareDateTime(required=True, default_timezone=BEIJING)
    note = fields.String(load_default="", validate=validate.Length(max=500))
    participant_ids = fields.List(id_field(), load_default=list, validate=validate.Length(max=500))

    @validates_schema
    def _times(self, data, **kwargs):
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends < starts:
            raise ValidationError(_l("The end is before the start."), "ends_at")
        if starts and ends and ends - starts > timedelta(hours=24):
            raise ValidationError(_l("An activity lasts at most a day."), "ends_at")
        if starts and starts > datetime.now(UTC) + timedelta(days=1):
            raise ValidationError(_l("Record activities when they have taken place."), "starts_at")


class IncidentSchema(InputSchema):
    occurred_at = fields.AwareDateTime(required=True, default_timezone=BEIJING)
    risk = choice(list(RISKS), required=True)
    severity = choice(Severity, required=True)
    person_id = id_field(allow_none=True, load_default=None)
    description = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    action_taken = fields.String(load_default="", validate=validate.Length(max=500))
    follow_up = fields.String(load_default="", validate=validate.Length(max=500))

    @validates("occurred_at")
    def _when(self, value, **kwargs):
        if value > datetime.now(UTC) + timedelta(minutes=10):
            raise ValidationError(_l("The time is in the future."))


class CloseIncidentSchema(InputSchema):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReportQuery(InputSchema):
    """The month of a center's report."""

    month = MonthField()


class OverviewQuery(InputSchema):
    """The month, area and idle threshold of the area's roll-up."""

    month = MonthField()
    region_id = id_field()
    idle_days = fields.Integer(
        strict=False,
        validate=validate.Range(min=1, max=365, error=_l("Give a number of days from 1 to 365.")),
    )
