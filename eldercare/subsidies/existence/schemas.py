"""Input schemas of the existence check: a program's setting and one check recorded."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from eldercare.core.db import local_today
from eldercare.core.schemas import InputSchema, choice
from eldercare.subsidies.existence.models import (
    LATE_CHECK_REASONS,
    MAX_GRACE,
    MAX_INTERVAL,
    MIN_GRACE,
    MIN_INTERVAL,
    Method,
)

EARLIEST = date(2000, 1, 1)


def _a_day_checked(value: date) -> None:
    if value > local_today():
        raise ValidationError(_l("The check cannot be dated in the future."))
    if value < EARLIEST:
        raise ValidationError(_l("Give a date from 2000 on."))


class CheckSchema(InputSchema):
    checked_on = fields.Date(required=True, validate=_a_day_checked)
    method = choice(Method, required=True)
    witness = fields.String(
        required=True,
        validate=validate.Length(
            min=1, max=50, error=_l("Give who saw the person, at most 50 characters.")
        ),
    )
    note = fields.String(load_default="", validate=validate.Length(max=255))


class PolicySchema(InputSchema):
    active = fields.Boolean(load_default=False)
    interval_months = fields.Integer(
        required=True,
        validate=validate.Range(
            min=MIN_INTERVAL,
            max=MAX_INTERVAL,
            error=_l("Give the interval in months, from 1 to 24."),
        ),
    )
    grace_days = fields.Integer(
        required=True,
        validate=validate.Range(
            min=MIN_GRACE, max=MAX_GRACE, error=_l("Give the grace period in days, from 0 to 180.")
        ),
    )
    back_pay_reason = choice(LATE_CHECK_REASONS, load_default=None, allow_none=True)
