"""Public vacancy search and facility pages (no resident data, no sign-in)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from eldercare.beds.models import CARE_TYPE_LABELS
from eldercare.core.db import MAX_ID
from eldercare.core.forms import list_page
from eldercare.facilities.models import KIND_LABELS
from eldercare.public import operations as ops
from eldercare.public.schemas import VacancySearch

bp = Blueprint("public", __name__, url_prefix="/public")


@bp.route("/facilities")
def facilities():
    page, _args = list_page(VacancySearch(), ops.search_facilities)
    return render_template(
        "public/facilities.html",
        page=page,
        results=ops.vacancies(list(page.items)),
        regions=ops.region_choices(),
        kinds=KIND_LABELS,
        care_types=CARE_TYPE_LABELS,
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
        "public/facility.html", vacancy=vacancy, facility=found, care_types=CARE_TYPE_LABELS
    )
