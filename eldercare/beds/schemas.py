"""Input schemas of the bed operations (shared by the pages and the API) and outputs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from eldercare.beds.models import RISKS, BedStatus, CareType, DischargeReason, RiskLevel
from eldercare.core import resident_id
from eldercare.core.db import local_today, local_zone
from eldercare.core.openapi import rule
from eldercare.core.schemas import InputSchema, Money, choice, id_field

MAX_PRICE_FEN = 10_000_000_00  # ten million yuan a month: anything above is a typo
#: How far back a bed event may be typed: a home's history entered after the fact reaches
#: back decades at most (a resident admitted at 60 is 100 after 40 years); 1900 is a typo.
EVENT_YEARS_BACK = 40
#: A reservation keeps a bed for days or weeks; an admission application may be agreed up to
#: a year ahead (bookings' longest look-ahead, 366 days) plus its hold days. 2099 is a typo.
RESERVATION_MAX_DAYS = 400


def earliest_event_day(today: date | None = None) -> date:
    """The first day a bed event (admission, discharge, transfer, leave, outage) may be on."""
    return resident_id.years_before(today or local_today(), EVENT_YEARS_BACK)


def event_day_refusal(value: date) -> str | None:
    """Why a typed bed-event date cannot be right (None: it can): never ahead of today
    (Beijing time), never absurdly far back. The pages, the API and the operations share it."""
    today = local_today()
    if value > today:
        return _l("The date is in the future.")
    first = earliest_event_day(today)
    if value < first:
        return _l(
            "The date is too far back: choose a day between %(first)s and today.",
            first=first.isoformat(),
        )
    return None


@rule("Not in the future, and not before the oldest day the county takes (a few years back).")
def not_future(value) -> None:
    """Bed events are recorded when they happened: between ``earliest_event_day`` and today."""
    refusal = event_day_refusal(value)
    if refusal is not None:
        raise ValidationError(refusal)


def latest_reservation_end(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + timedelta(days=RESERVATION_MAX_DAYS)


def reservation_end_refusal(value: datetime, now: datetime | None = None) -> str | None:
    """Why a reservation cannot end then (None: it can): in the future, within
    ``RESERVATION_MAX_DAYS``."""
    now = now or datetime.now(UTC)
    if value <= now:
        return _l("A reservation must end in the future.")
    if value > latest_reservation_end(now):
        return _l(
            "A reservation keeps a bed for at most %(days)s days: choose an end before %(day)s.",
            days=RESERVATION_MAX_DAYS,
            day=latest_reservation_end(now).astimezone(local_zone()).date().isoformat(),
        )
    return None


@rule("A valid 18-character resident ID number (GB 11643: birth date and check digit).")
def check_id_number(value: str) -> None:
    """A mistyped ID number (wrong length, date or check digit) says so, as on the person
    form, rather than 'no registered person'."""
    if not value:
        return
    try:
        resident_id.parse(value)
    except resident_id.InvalidResidentId as exc:
        raise ValidationError(str(exc.message)) from None


class YuanAmount(Money):
    """Money typed in yuan (up to two decimals, never rounded), kept as integer fen: the
    app's one money field (core.schemas.Money), up to ten million yuan."""

    def __init__(self, **kwargs):
        super().__init__(max_fen=MAX_PRICE_FEN, **kwargs)


class RoomSchema(InputSchema):
    building = fields.String(load_default="", validate=validate.Length(max=20))
    floor = fields.Integer(
        required=True,
        validate=validate.Range(min=-5, max=200, error=_l("A floor between -5 and 200.")),
    )
    number = fields.String(required=True, validate=validate.Length(min=1, max=20))


class BedSchema(InputSchema):
    label = fields.String(required=True, validate=validate.Length(min=1, max=10))
    care_type = choice(CareType, required=True)
    monthly_price = YuanAmount(
        required=True, data_key="monthly_price", attribute="monthly_price_fen"
    )


class BedUpdateSchema(InputSchema):
    """A partial change of a bed: at least one of its fields (an empty PATCH is refused,
    not answered as if something had been saved)."""

    care_type = choice(CareType)
    monthly_price = YuanAmount(data_key="monthly_price", attribute="monthly_price_fen")

    @validates_schema
    def _something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError(_l("Give at least one change: care type or price."))


class AdmitSchema(InputSchema):
    """Admission: the person is named by ID number and name, as on their ID card."""

    id_number = fields.String(required=True, validate=[validate.Length(max=24), check_id_number])
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    admitted_on = fields.Date(required=True, validate=not_future)
    risks = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(RISKS))),
        values=choice(RiskLevel),
        required=True,
    )
    note = fields.String(load_default="", validate=validate.Length(max=255))


class DischargeSchema(InputSchema):
    discharged_on = fields.Date(required=True, validate=not_future)
    reason = choice([r for r in DischargeReason if r != DischargeReason.TRANSFER], required=True)
    note = fields.String(load_default="", validate=validate.Length(max=255))


class TransferSchema(InputSchema):
    bed_id = id_field(required=True)
    on = fields.Date(required=True, validate=not_future)


class LeaveSchema(InputSchema):
    start_on = fields.Date(required=True, validate=not_future)
    reason = fields.String(load_default="", validate=validate.Length(max=255))


class LeaveEndSchema(InputSchema):
    end_on = fields.Date(required=True, validate=not_future)


class ReserveSchema(InputSchema):
    """A bed kept until a time; for a registered person (ID number and name as on the card,
    so that person can then be admitted into it) or just for a name."""

    holder_name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    id_number = fields.String(validate=[validate.Length(max=24), check_id_number])
    name = fields.String(validate=validate.Length(max=50))
    # A time typed without a zone is Beijing time (what the operator reads on the wall clock).
    expires_at = fields.AwareDateTime(required=True, default_timezone=ZoneInfo("Asia/Shanghai"))

    @validates("expires_at")
    def _future(self, value: datetime, **kwargs):
        refusal = reservation_end_refusal(value)
        if refusal is not None:
            raise ValidationError(refusal)

    @validates_schema
    def _both_or_neither(self, data, **kwargs):
        if bool(data.get("id_number")) != bool(data.get("name")):
            raise ValidationError(
                _l("Give both the ID number and the name, or neither."), "id_number"
            )


class OutOfServiceSchema(InputSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))
    start_on = fields.Date(required=True, validate=not_future)


class BackInServiceSchema(InputSchema):
    on = fields.Date(required=True, validate=not_future)


class BedOut(Schema):
    id = fields.Integer()
    code = fields.String()
    facility_id = fields.Integer()
    room_id = fields.Integer()
    room = fields.Function(lambda bed: bed.room.title)
    floor = fields.Function(lambda bed: bed.room.floor)
    label = fields.String()
    #: Floor · room · bed (code), as the pages name the bed.
    title = fields.String()
    care_type = fields.String()
    monthly_price = YuanAmount(attribute="monthly_price_fen")
    #: As of now when the read asked for it: a run-out reservation leaves the bed vacant.
    status = fields.String(
        attribute="shown_status", validate=validate.OneOf([s.value for s in BedStatus])
    )


class StayOut(Schema):
    """A stay as the facility's operators see it (the resident's name, masked ID)."""

    id = fields.Integer()
    bed_id = fields.Integer()
    person_id = fields.Integer()
    person_name = fields.Function(lambda stay: stay.person.name)
    person_id_number_masked = fields.Function(lambda stay: stay.person.id_number_masked)
    admitted_on = fields.Date()
    #: When the resident came to the facility (``admitted_on`` is when they came to this bed:
    #: a transfer starts a new stay).
    first_admitted_on = fields.Date()
    discharged_on = fields.Date(allow_none=True)
    discharge_reason = fields.String(allow_none=True)
    previous_stay_id = fields.Integer(allow_none=True)
    note = fields.String()
    discharge_note = fields.String()


class DischargeOut(StayOut):
    """The ended stay, and what the discharge made each feature do (a death: the registry's
    life event, the day-care membership, the visit plan...), as the operator reads it."""

    effects = fields.List(fields.String(), dump_default=list)


# --- HTML forms of the bed pages (same rules as the API schemas above) ------------------


class AdmitFormSchema(AdmitSchema):
    """The admission form: one select per risk, sent as ``risks[choking]=low`` etc."""

    def load(self, data, **kwargs):
        if hasattr(data, "keys"):
            keys = list(data.keys())
            risks = {
                key[len("risks[") : -1]: data[key]
                for key in keys
                if key.startswith("risks[") and key.endswith("]") and data[key]
            }
            data = {k: data[k] for k in keys if not k.startswith("risks[")}
            if risks:
                data["risks"] = risks
        return super().load(data, **kwargs)


class NewBedFormSchema(BedSchema):
    """A bed added from the bed board: the room is chosen in the form."""

    room_id = id_field(required=True)


# --- operator API ---------------------------------------------------------------------------
# (imports of the API-only schemas, kept with them while several hands append to this file)
from marshmallow import pre_load, validates_schema  # noqa: E402

from eldercare.core.schemas import PageArgs  # noqa: E402

#: The most beds one bulk request may change (one transaction, one answer).
BULK_LIMIT = 1000
BULK_STATUSES = ("out_of_service", "in_service")


class BedQuery(PageArgs):
    facility_id = id_field(required=True)
    status = choice(BedStatus)
    care_type = choice(CareType)
    floor = fields.Integer(
        validate=validate.Range(min=-5, max=200, error=_l("A floor between -5 and 200."))
    )


class BulkItemSchema(InputSchema):
    """One bed's change in a bulk request: care type, price, and/or taking it out of (or
    back into) service, with the reason and the date."""

    bed_id = id_field(required=True)
    care_type = choice(CareType)
    monthly_price = YuanAmount(data_key="monthly_price", attribute="monthly_price_fen")
    status = choice(BULK_STATUSES)
    reason = fields.String(validate=validate.Length(min=1, max=255))
    on = fields.Date(validate=not_future)

    @validates_schema
    def _coherent(self, data, **kwargs):
        if not {"care_type", "monthly_price_fen", "status"} & data.keys():
            raise ValidationError(_l("Give at least one change: care type, price or status."))
        status = data.get("status")
        errors = {}
        if status == "out_of_service" and "reason" not in data:
            errors["reason"] = [self.fields["reason"].error_messages["required"]]
        if "reason" in data and status != "out_of_service":
            errors["reason"] = [_l("Only together with the status out_of_service.")]
        if "on" in data and status is None:
            errors["on"] = [_l("Only together with a status.")]
        if errors:
            raise ValidationError(errors)


class BulkSchema(InputSchema):
    items = fields.List(
        fields.Nested(BulkItemSchema),
        required=True,
        validate=validate.Length(
            min=1, max=BULK_LIMIT, error=_l("Between 1 and 1,000 beds in one request.")
        ),
    )

    @pre_load
    def _not_too_many(self, data, **kwargs):
        # Refuse an oversized list before validating each of its items.
        items = data.get("items") if isinstance(data, dict) else None
        if isinstance(items, list) and len(items) > BULK_LIMIT:
            raise ValidationError({"items": [_l("Between 1 and 1,000 beds in one request.")]})
        return data

    @validates_schema
    def _each_bed_once(self, data, **kwargs):
        seen: set[int] = set()
        errors = {}
        for index, item in enumerate(data["items"]):
            if item["bed_id"] in seen:
                errors[index] = {"bed_id": [_l("This bed is already in the list.")]}
            seen.add(item["bed_id"])
        if errors:
            raise ValidationError({"items": errors})


class BedDetailOut(Schema):
    """A bed and, while it is occupied or held, its current stay."""

    bed = fields.Nested(BedOut)
    stay = fields.Nested(StayOut, allow_none=True)


class LeaveOut(Schema):
    id = fields.Integer()
    stay_id = fields.Integer()
    start_on = fields.Date()
    end_on = fields.Date(allow_none=True)
    reason = fields.String()


class ReservationOut(Schema):
    id = fields.Integer()
    bed_id = fields.Integer()
    holder_name = fields.String()
    expires_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True)


class OutageOut(Schema):
    id = fields.Integer()
    bed_id = fields.Integer()
    reason = fields.String()
    start_on = fields.Date()
    end_on = fields.Date(allow_none=True)


class BulkOut(Schema):
    beds = fields.Nested(BedOut, many=True)
