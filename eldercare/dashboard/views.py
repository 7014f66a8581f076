"""County indicator pages, and plotly.js served from the installed plotly package."""

from __future__ import annotations

import os

import plotly
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.beds.models import CARE_TYPE_LABELS
from eldercare.core.db import local_today
from eldercare.core.permissions import Role, roles_required
from eldercare.core.schemas import load_form
from eldercare.core.transaction import transactional
from eldercare.dashboard import figures
from eldercare.dashboard.export import overview_workbook
from eldercare.dashboard.indicators import bed_indicators
from eldercare.dashboard.schemas import IndicatorQuery, OverviewQuery
from eldercare.dashboard.snapshots import overview_for
from eldercare.extensions import limiter
from eldercare.people.permissions import per_account
from eldercare.regions import areas
from eldercare.subsidies.reports import programs_for

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
#: A city's overview takes seconds of the database to compute: a few a minute per account.
recompute_limit = limiter.limit("6 per minute", methods=["POST"], key_func=per_account)
PLOTLY_DIR = os.path.join(os.path.dirname(plotly.__file__), "package_data")


@bp.route("/plotly.min.js")
def plotly_js():
    """plotly.js from the installed package (no CDN); the URL carries its version."""
    return send_from_directory(PLOTLY_DIR, "plotly.min.js", max_age=86400)


@bp.route("/beds")
@roles_required(Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
def beds():
    region, args = _area_and_filters(IndicatorQuery())
    day = args.get("on") or local_today()
    result = bed_indicators(region, day)
    sub_title = _("Beds by area")
    charts = {
        "care_types": figures.beds_by_care_type(result.total, float(result.nursing_target)),
        "trend": figures.occupancy_trend(result.trend),
        "areas": figures.beds_by_area(result.by_subregion, sub_title),
    }
    return render_template(
        "dashboard/beds.html",
        ind=result,
        charts={name: fig.to_json() for name, fig in charts.items()},
        regions=areas.region_choices(current_user),
        care_types=CARE_TYPE_LABELS,
        plotly_version=plotly.__version__,
        today=local_today(),
    )


def _area_and_filters(query):
    """The area a page is about (the chosen one if in scope, else the user's own; 404
    outside) and the page's other filters (invalid ones dropped with a notice)."""
    args, errors = load_form(query, request.args)
    if errors:
        flash(_("Some filters were not valid and were ignored."), "warning")
        args = {}
    if args.get("region_id"):
        region = areas.region_in_scope(current_user, args["region_id"])
    else:
        region = areas.default_region(current_user)
    if region is None:
        abort(404)
    return region, args


def _overview_args():
    region, args = _area_and_filters(OverviewQuery())
    return region, args.get("month") or local_today().replace(day=1)


def _overview(region, month, fresh=False):
    # The region is inside the user's area (_area_and_filters); the subsidy figures are
    # those of the programs the user may see. What was computed is kept (see snapshots):
    # the routes calling this are @transactional, which commits the kept snapshot.
    return overview_for(region, month, programs_for(region, current_user), fresh=fresh)


@bp.route("/overview")
@roles_required(Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
@transactional
def overview():
    region, month = _overview_args()
    result = _overview(region, month)
    printing = request.args.get("print") == "1"
    charts = {ind.key: figures.indicator_trend(ind).to_json() for ind in result.indicators}
    charts["stars"] = figures.star_levels(result.stars).to_json()
    charts["programs"] = figures.program_amounts(result.programs).to_json()
    return render_template(
        "dashboard/overview.html",
        ov=result,
        charts=charts,
        printing=printing,
        regions=areas.region_choices(current_user),
        parent=_parent_in_scope(region),
        plotly_version=plotly.__version__,
        this_month=local_today().replace(day=1),
        max_age_minutes=current_app.config["OVERVIEW_MAX_AGE_SECONDS"] // 60,
    )


@bp.route("/overview", methods=["POST"])
@roles_required(Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
@recompute_limit
@transactional
def recompute_overview():
    """Compute the figures anew now (they are otherwise kept for a while)."""
    region, args = _area_and_filters(OverviewQuery())
    month = args.get("month") or local_today().replace(day=1)
    _overview(region, month, fresh=True)
    flash(_("The figures have been computed anew."), "success")
    return redirect(
        url_for("dashboard.overview", region_id=region.id, month=month.strftime("%Y-%m"))
    )


@bp.route("/overview.xlsx")
@roles_required(Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
@transactional
def overview_xlsx():
    region, month = _overview_args()
    path = overview_workbook(_overview(region, month))
    name = f"overview-{region.code}-{month.strftime('%Y-%m')}.xlsx"
    return send_file(path, as_attachment=True, download_name=name, max_age=0)


def _parent_in_scope(region):
    parent = region.parent
    if parent is None or areas.region_in_scope(current_user, parent.id) is None:
        return None
    return parent
