"""Filters of the public vacancy search (query string, validated like any form)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema

from eldercare.beds.models import CareType
from eldercare.bookings.models import ServiceKind
from eldercare.core.schemas import PageArgs, choice, id_field
from eldercare.facilities.models import FacilityKind

#: Star levels a search may ask for: exactly this level of the grade in force today, or none.
STAR_CHOICES = ("unrated", "1", "2", "3", "4", "5")
MAX_PRICE_YUAN = 1_000_000


class VacancySearch(PageArgs):
    region_id = id_field()
    kind = choice(FacilityKind)
    #: Offers an active service of this kind (a visit, a trial day, meals at home...).
    service = choice(ServiceKind)
    care_type = choice(CareType)
    min_price = fields.Integer(
        validate=validate.Range(min=0, max=MAX_PRICE_YUAN, error=_l("Not a valid price."))
    )
    max_price = fields.Integer(
        validate=validate.Range(min=0, max=MAX_PRICE_YUAN, error=_l("Not a valid price."))
    )
    star = choice(STAR_CHOICES)
    min_star = fields.Integer(
        strict=False,
        validate=validate.Range(min=1, max=5, error=_l("Choose a star level from 1 to 5.")),
    )
    free_only = fields.Boolean(load_default=False)
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))

    @validates_schema
    def _price_order(self, data, **kwargs):
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ValidationError(
                _l("The lowest price is above the highest."), field_name="max_price"
            )
