"""Input schemas for rating schemes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from eldercare.core.schemas import InputSchema, id_field


class CopySchema(InputSchema):
    #: Administrators name the county the copy is for; county staff copy for their own.
    county_id = id_field(load_default=None, allow_none=True)


class ItemSchema(InputSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    max_points = fields.Integer(validate=validate.Range(min=0, max=1000))
    must_have = fields.Boolean(load_default=False)
    evidence = fields.String(load_default="", validate=validate.Length(max=255))


class RoundSchema(InputSchema):
    county_id = id_field(load_default=None, allow_none=True)
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    scheme_id = id_field(required=True)
    notice_days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=60))


class ApplicationSchema(InputSchema):
    facility_id = id_field(required=True)


class AppointSchema(InputSchema):
    user_id = id_field(required=True)


class DecisionSchema(InputSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    note = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _why(self, data, **kwargs):
        if data.get("decision") == "return" and not data.get("note"):
            raise ValidationError(_l("Say what the assessors should look at again."), "note")


class ObjectionSchema(InputSchema):
    received_on = fields.Date(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    resolution = fields.String(load_default="", validate=validate.Length(max=1000))


class ScoresSchema(InputSchema):
    """The scoring form's fields are named per item (score-<id>, met-<id>, note-<id>) and read
    by ``operations.entries_from_form``; the engine and the operation check them."""


class AnswerSchema(InputSchema):
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=1000))
