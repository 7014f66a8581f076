"""Input schemas of bookings: a service and its availability rules, a blackout day, a
booking, and the operator's answers."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates, validates_schema

from eldercare.beds.schemas import YuanAmount
from eldercare.bookings.models import BookingStatus, ServiceKind
from eldercare.core.db import DEFAULT_TIMEZONE
from eldercare.core.schemas import InputSchema, choice, id_field
from eldercare.daycare.models import WEEKDAYS

#: The most one booking may cost (100,000 yuan): the database refuses more.
MAX_SERVICE_PRICE_FEN = 10_000_000
PHONE = validate.Regexp(r"^[0-9+\-\s]{0,20}$", error=_l("Not a valid phone number."))


def _range(low: int, high: int) -> validate.Range:
    return validate.Range(
        min=low, max=high, error=_l("Between %(low)s and %(high)s.", low=low, high=high)
    )


class ServiceSchema(InputSchema):
    """A bookable service and when it can be booked."""

    kind = choice(ServiceKind, required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    price_fen = YuanAmount(data_key="price", load_default=None, allow_none=True)
    weekdays = fields.List(
        fields.Integer(validate=validate.OneOf(WEEKDAYS, error=_l("Not a day of the week."))),
        required=True,
        validate=validate.Length(min=1, max=7, error=_l("Choose at least one day.")),
    )
    opens_at = fields.Time(required=True, format="%H:%M")
    closes_at = fields.Time(required=True, format="%H:%M")
    slot_minutes = fields.Integer(required=True, validate=_range(15, 1440))
    capacity = fields.Integer(required=True, validate=_range(1, 1000))
    min_notice_hours = fields.Integer(load_default=24, validate=_range(0, 720))
    max_days_ahead = fields.Integer(load_default=14, validate=_range(1, 366))
    cancel_hours = fields.Integer(load_default=2, validate=_range(0, 168))
    auto_confirm = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)

    @validates("price_fen")
    def _price(self, value, **kwargs):
        if value is not None and value > MAX_SERVICE_PRICE_FEN:
            raise ValidationError(_l("At most 100,000 yuan."))

    @validates("weekdays")
    def _distinct(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError(_l("A day is listed twice."))

    @validates_schema
    def _hours(self, data, **kwargs):
        if "opens_at" in data and "closes_at" in data and data["opens_at"] >= data["closes_at"]:
            raise ValidationError(
                {"closes_at": [_l("The closing time must be after the opening time.")]}
            )


class ServiceUpdateSchema(ServiceSchema):
    """The kind of a service is fixed once it exists (its bookings are of that kind)."""

    kind = choice(ServiceKind, load_default=None)


class BlackoutSchema(InputSchema):
    day = fields.Date(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=100))
    service_id = id_field(load_default=None, allow_none=True)


class BookingSchema(InputSchema):
    """A family member's booking: which relative, which slot (its start), and details."""

    person_id = id_field(required=True)
    # A time without an offset is the county's clock time, as people read and type it.
    starts_at = fields.AwareDateTime(required=True, default_timezone=ZoneInfo(DEFAULT_TIMEZONE))
    party_size = fields.Integer(load_default=1, validate=_range(1, 10))
    note = fields.String(load_default="", validate=validate.Length(max=500))
    place = fields.String(load_default="", validate=validate.Length(max=200))
    contact_phone = fields.String(load_default="", validate=PHONE)


class CancelSchema(InputSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=255))


class ConfirmSchema(InputSchema):
    bed_id = id_field(load_default=None, allow_none=True)


class FinishSchema(InputSchema):
    outcome = choice((BookingStatus.COMPLETED, BookingStatus.NO_SHOW), required=True)


#: Dates a calendar or a booking page may be opened at (a far year would overflow).
CALENDAR_DATES = validate.Range(
    min=date(2000, 1, 1), max=date(2100, 12, 31), error=_l("Not a date this calendar shows.")
)


class CalendarArgs(InputSchema):
    week = fields.Date(load_default=None, validate=CALENDAR_DATES)


class SlotArgs(InputSchema):
    start = fields.Date(load_default=None, validate=CALENDAR_DATES)
