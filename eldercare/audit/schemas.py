"""The audit log page's filters."""

from __future__ import annotations

from marshmallow import fields, validate

from eldercare.core.schemas import PageArgs


class AuditQuery(PageArgs):
    action = fields.String(validate=validate.Length(max=64))
    actor = fields.String(validate=validate.Length(max=80))
    entity_type = fields.String(validate=validate.Length(max=40))
    entity_id = fields.Integer()
    since = fields.Date()
    until = fields.Date()
