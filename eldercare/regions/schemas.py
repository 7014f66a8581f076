"""Schemas for regions."""

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from eldercare.core.schemas import InputSchema, Money, choice, id_field
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


class _Yuan(Money):
    """An amount typed in yuan (at most two decimals), loaded as integer fen: the app's one
    money field (core.schemas.Money); the ranges are the schema's own."""

    def __init__(self, **kwargs):
        super().__init__(max_fen=10 * PRICE_CEILING_FEN, **kwargs)


#: The highest price a county may allow (the table's check constraint): ¥1,000,000 a month.
PRICE_CEILING_FEN = 100_000_000


class CountySettingsSchema(InputSchema):
    """What county staff set for their county: how many periods ahead a subsidy batch may be
    drawn up, and the plausible range of a bed's monthly price."""

    subsidy_periods_ahead = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=12, error=_l("Between 0 and 12 periods.")),
    )
    bed_price_min = _Yuan(
        required=True,
        attribute="bed_price_min_fen",
        validate=validate.Range(min=0, error=_l("A price cannot be negative.")),
    )
    bed_price_max = _Yuan(
        required=True,
        attribute="bed_price_max_fen",
        validate=validate.Range(
            min=1, max=PRICE_CEILING_FEN, error=_l("At most 1,000,000 yuan a month.")
        ),
    )

    @validates_schema(skip_on_field_errors=False)  # every mistake shown at once
    def _low_below_high(self, data, **kwargs):
        low, high = data.get("bed_price_min_fen"), data.get("bed_price_max_fen")
        if low is not None and high is not None and low >= high:
            raise ValidationError(
                _l("The highest price must be above the lowest."), "bed_price_max"
            )
