"""Schemas for facilities: one for input (form and JSON), one for output."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from eldercare.core.schemas import InputSchema, PageArgs, choice, id_field
from eldercare.facilities.models import FacilityKind, Ownership

PHONE = validate.Regexp(r"^\+?[0-9-]{5,20}$", error=_l("Not a valid phone number."))


class FacilitySchema(InputSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    kind = choice(FacilityKind, required=True)
    ownership = choice(Ownership, required=True)
    region_id = id_field(required=True)
    address = fields.String(load_default="", validate=validate.Length(max=255))
    latitude = fields.Decimal(
        allow_none=True,
        places=6,
        validate=validate.Range(min=-90, max=90, error=_l("Latitude is between -90 and 90.")),
    )
    longitude = fields.Decimal(
        allow_none=True,
        places=6,
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
    latitude = fields.Decimal(as_string=True, allow_none=True)
    longitude = fields.Decimal(as_string=True, allow_none=True)
    licence_no = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    description = fields.String()
    active = fields.Boolean()
