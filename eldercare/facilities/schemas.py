"""Schemas for facilities: one for input (form and JSON), one for output."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from eldercare.core.schemas import InputSchema, PageArgs, choice, id_field
from eldercare.facilities.models import FacilityKind, Ownership

PHONE = validate.Regexp(r"^\+?[0-9-]{5,20}$", error=_l("Not a valid phone number."))


class Coordinate(fields.Float):
    """Degrees read as a number (documented as one) and kept as a 6-place Decimal."""

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if abs(number) > 180:
            return number  # out of any range: the field's Range validator refuses it
        return Decimal(repr(number)).quantize(Decimal("0.000001"))


class FacilitySchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    kind = choice(FacilityKind, required=True)
    ownership = choice(Ownership, required=True)
    region_id = id_field(
        required=True,
        metadata={"enforced": "A county, township or village inside the caller's own area."},
    )
    address = fields.String(load_default="", validate=validate.Length(max=255))
    latitude = Coordinate(
        allow_none=True,
        validate=validate.Range(min=-90, max=90, error=_l("Latitude is between -90 and 90.")),
    )
    longitude = Coordinate(
        allow_none=True,
        validate=validate.Range(min=-180, max=180, error=_l("Longitude is between -180 and 180.")),
    )
    licence_no = fields.String(allow_none=True, validate=validate.Length(max=64))
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=80))
    contact_phone = fields.String(allow_none=True, validate=PHONE)
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    active = fields.Boolean(load_default=True)


class FacilityQuery(PageArgs):
    q = fields.String(validate=validate.Length(max=50))
    kind = choice(FacilityKind)
    region_id = id_field()


class FacilityOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    ownership = fields.String()
    region_id = fields.Integer()
    address = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    licence_no = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    description = fields.String()
    active = fields.Boolean()
