"""Day-care operating reports: a center's monthly report (page, print, .xlsx) for its
operators and the staff of its area, and the roll-up of every center of an area for staff."""

from __future__ import annotations

import contextlib
import os

import plotly
from flask import (
    Blueprint,
    abort,
    after_this_request,
    current_app,
    render_template,
    request,
    send_file,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.beds.models import RISKS
from eldercare.core import audit
from eldercare.core.db import local_today
from eldercare.core.forms import load_filters
from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.core.schemas import InputSchema
from eldercare.core.transaction import transactional
from eldercare.daycare import figures, reports
from eldercare.daycare.models import DAYCARE_KINDS, MEAL_LABELS, MealType
from eldercare.daycare.schemas import OverviewQuery, ReportQuery
from eldercare.facilities.models import Facility
from eldercare.regions import areas as area
from eldercare.regions.models import Region

bp = Blueprint("daycare_reports", __name__)
READERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR)
AREA_STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _args(schema: InputSchema) -> dict:
    """The query string's filters; invalid ones are dropped with a notice (the page shows)."""
    labels = {
        "month": _l("Month"),
        "region_id": _l("Area"),
        "idle_days": _l("Not operating after (days)"),
    }
    args = dict(load_filters(schema, request.args, labels))
    if args.get("month") is None:
        args["month"] = local_today().replace(day=1)
    return args


def _center(facility_id: int) -> Facility:
    """A day-care facility the user may see; any other is not found."""
    facility = get_visible_or_404(Facility, facility_id)
    if facility.kind not in DAYCARE_KINDS:
        abort(404)
    return facility


def _overview_args() -> tuple[Region, dict]:
    args = _args(OverviewQuery())
    if args.get("region_id"):
        region = area.region_in_scope(current_user, args["region_id"])
    else:
        region = area.default_region(current_user)
    if region is None:
        abort(404)
    args.setdefault("idle_days", current_app.config["DAYCARE_IDLE_DAYS"])
    return region, args


def _send(path: str, name: str):
    @after_this_request
    def _cleanup(response):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return response

    return send_file(path, as_attachment=True, download_name=name, mimetype=XLSX)


@bp.route("/facilities/<int:facility_id>/daycare/report")
@roles_required(*READERS)
def report(facility_id: int):
    facility = _center(facility_id)
    args = _args(ReportQuery())
    result = reports.monthly_report(facility, args["month"])
    return render_template(
        "daycare/report.html",
        facility=facility,
        report=result,
        chart=figures.attendance_by_day(result).to_json(),
        meal_labels={t.value: label for t, label in MEAL_LABELS.items()},
        meal_types=[t.value for t in MealType],
        risk_labels=RISKS,
        plotly_version=plotly.__version__,
        today=local_today(),
        print_header=reports.report_header(result, current_user),
    )


@bp.route("/facilities/<int:facility_id>/daycare/report.xlsx")
@roles_required(*READERS)
@transactional
def report_xlsx(facility_id: int):
    facility = _center(facility_id)
    args = _args(ReportQuery())
    result = reports.monthly_report(facility, args["month"])
    path = reports.report_xlsx(result, reports.report_header(result, current_user))
    audit.record(
        "daycare.report_exported",
        facility,
        facility_id=facility.id,
        note=f"{result.month:%Y-%m}",
    )
    return _send(path, f"daycare-report-{facility.id}-{result.month:%Y%m}.xlsx")


@bp.route("/daycare/overview")
@roles_required(*AREA_STAFF)
def overview():
    region, args = _overview_args()
    result = reports.county_rollup(region, args["month"], args["idle_days"], local_today())
    charts = {
        "attendance": figures.attendance_vs_capacity(result),
        "meals": figures.meals_by_center(result),
    }
    return render_template(
        "daycare/overview.html",
        rollup=result,
        charts={name: fig.to_json() for name, fig in charts.items()},
        regions=area.region_choices(current_user),
        plotly_version=plotly.__version__,
        today=local_today(),
        print_header=reports.rollup_header(result, current_user),
    )


@bp.route("/daycare/overview.xlsx")
@roles_required(*AREA_STAFF)
@transactional
def overview_xlsx():
    region, args = _overview_args()
    result = reports.county_rollup(region, args["month"], args["idle_days"], local_today())
    path = reports.rollup_xlsx(result, reports.rollup_header(result, current_user))
    audit.record(
        "daycare.overview_exported",
        region_id=region.id,
        note=f"{region.code} {result.month:%Y-%m} {len(result.centers)}",
    )
    return _send(path, f"daycare-overview-{region.code}-{result.month:%Y%m}.xlsx")
