"""Input schemas for rating schemes."""

from __future__ import annotations

from marshmallow import fields, validate

from eldercare.core.schemas import InputSchema, id_field


class CopySchema(InputSchema):
    #: Administrators name the county the copy is for; county staff copy for their own.
    county_id = id_field(load_default=None, allow_none=True)


class ItemSchema(InputSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    max_points = fields.Integer(validate=validate.Range(min=0, max=1000))
    must_have = fields.Boolean(load_default=False)
    evidence = fields.String(load_default="", validate=validate.Length(max=255))
