"""Public vacancy search and facility pages, with the services one can book (no resident
data, no sign-in)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.beds.models import CARE_TYPE_LABELS
from eldercare.bookings.models import SERVICE_LABELS
from eldercare.core.db import MAX_ID
from eldercare.core.forms import list_page
from eldercare.core.permissions import Role, role_of
from eldercare.daycare.models import WEEKDAY_LABELS
from eldercare.facilities.models import KIND_LABELS
from eldercare.public import operations as ops
from eldercare.public.schemas import VacancySearch

bp = Blueprint("public", __name__, url_prefix="/public")

#: The search filters as the page labels them (a refused one is named so).
FILTER_LABELS = {
    "region_id": _l("County or township"),
    "kind": _l("Kind"),
    "service": _l("Offers the service"),
    "care_type": _l("Free bed of care type"),
    "min_price": _l("From (yuan)"),
    "max_price": _l("To (yuan)"),
    "star": _l("Star level"),
    "min_star": _l("Minimum stars"),
    "free_only": _l("Only with free beds"),
}


@bp.route("/facilities")
def facilities():
    page, _args = list_page(VacancySearch(), ops.search_facilities, FILTER_LABELS)
    return render_template(
        "public/facilities.html",
        page=page,
        results=ops.vacancies(list(page.items)),
        regions=ops.region_choices(),
        kinds=KIND_LABELS,
        care_types=CARE_TYPE_LABELS,
        service_kinds=SERVICE_LABELS,
        bed_kinds=ops.BED_KINDS,
        args=request.args,
    )


@bp.route("/facilities/<int:facility_id>")
def facility(facility_id: int):
    if facility_id > MAX_ID:
        abort(404)
    found = ops.public_facility(facility_id)
    if found is None:
        abort(404)
    (vacancy,) = ops.vacancies([found])
    return render_template(
        "public/facility.html",
        vacancy=vacancy,
        facility=found,
        care_types=CARE_TYPE_LABELS,
        weekday_labels=WEEKDAY_LABELS,
        bed_kinds=ops.BED_KINDS,
        # Visitors who are not signed in are sent to sign in by the booking page itself;
        # staff and operators do not book.
        can_book=not current_user.is_authenticated or role_of(current_user) == Role.FAMILY,
    )
