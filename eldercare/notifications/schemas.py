"""Query strings of the inbox and the administrators' outbox, and the small action forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from eldercare.core.schemas import InputSchema, PageArgs, choice
from eldercare.notifications.models import Channel, OutboxStatus


class InboxQuery(PageArgs):
    per_page = fields.Integer(  # a phone screen's worth
        load_default=20,
        validate=validate.Range(min=1, max=200, error=_l("Page size must be between 1 and 200.")),
    )


class OutboxQuery(PageArgs):
    status = choice(OutboxStatus)
    channel = choice(Channel)


class BackToSchema(InputSchema):
    """An action form that returns to the page it was sent from (a path of this site)."""

    next = fields.String(validate=validate.Length(max=500))


class RequeueSchema(InputSchema):
    """Send every failed message of one channel again."""

    channel = choice((Channel.EMAIL, Channel.SMS), required=True)
