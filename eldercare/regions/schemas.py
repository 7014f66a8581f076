"""Schemas for regions."""

from marshmallow import Schema, fields

from eldercare.core.schemas import InputSchema, choice, id_field
from eldercare.regions.models import Level


class RegionOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_id = fields.Integer(allow_none=True)
    abolished_on = fields.Date(allow_none=True)
    successor_code = fields.String(allow_none=True)


class RegionQuery(InputSchema):
    parent_id = id_field()
    level = choice(Level)
    include_abolished = fields.Boolean(load_default=False)
