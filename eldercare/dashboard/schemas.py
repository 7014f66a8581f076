"""Query-string filters of the indicator pages."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validates

from eldercare.core.db import local_today
from eldercare.core.schemas import InputSchema, id_field
from eldercare.visits.schemas import MonthField


class IndicatorQuery(InputSchema):
    region_id = id_field()
    on = fields.Date()

    @validates("on")
    def _not_future(self, value: date, **kwargs):
        if value > local_today():
            raise ValidationError(_l("The date is in the future."))
        if value.year < 2000:
            raise ValidationError(_l("Choose a date from 2000 on."))


class OverviewQuery(InputSchema):
    region_id = id_field()
    month = MonthField()
