"""How the ratings feature answers the registries' events (see facilities.signals)."""

from __future__ import annotations

from eldercare.core.db import local_today
from eldercare.facilities import signals
from eldercare.facilities.models import Facility
from eldercare.ratings import grades


@signals.details_shown.connect
def _grade_on_the_facility_page(facility: Facility, **_kwargs):
    return {
        "grade": grades.grades_on([facility.id], local_today()).get(facility.id),
        "grade_history": grades.history(facility),
    }
