"""The county's star view: the star distribution of an area's facilities on a day or after a
chosen round, by kind and by township, against the county's previous round, with charts and
an .xlsx of the table; and the template helpers every page uses to write a star level."""

from __future__ import annotations

import contextlib
import os
from datetime import date

import plotly
from flask import Blueprint, abort, after_this_request, flash, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError, fields, validate, validates_schema

from eldercare.core import audit
from eldercare.core.db import local_today
from eldercare.core.permissions import Role, get_visible_or_404, roles_required, scope_clause
from eldercare.core.schemas import InputSchema, id_field, load_form
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import distribution, figures
from eldercare.ratings.grades import last_day, star_label
from eldercare.ratings.models import Round
from eldercare.regions import areas as area
from eldercare.regions.models import Region

bp = Blueprint("ratings_overview", __name__, url_prefix="/ratings")
AREA_STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_YEAR = 2000

bp.add_app_template_global(star_label, "star_label")
bp.add_app_template_global(last_day, "grade_last_day")


class OverviewQuery(InputSchema):
    """The area, and the day: ``day`` itself, or the end of ``year`` (today in the current
    year); today when neither is given. A ``round_id`` of the area's county instead shows
    the grades once that round was published."""

    region_id = id_field()
    round_id = id_field()
    year = fields.Integer(
        strict=False,
        validate=validate.Range(
            min=FIRST_YEAR, max=9999, error=_l("Choose a year from 2000 to this year.")
        ),
    )
    day = fields.Date()

    @validates_schema
    def _not_ahead(self, data, **kwargs):
        today = local_today()
        if data.get("year", FIRST_YEAR) > today.year:
            raise ValidationError(_l("Choose a year from 2000 to this year."), "year")
        if data.get("day", today) > today:
            raise ValidationError(_l("Choose a day up to today."), "day")


def _day(args: dict) -> date:
    today = local_today()
    if args.get("day"):
        return args["day"]
    if args.get("year"):
        return min(date(args["year"], 12, 31), today)
    return today


def _overview() -> distribution.StarOverview:
    """Load the area (404 outside the user's own) and the day, and compute the overview."""
    args, errors = load_form(OverviewQuery(), request.args)
    if errors:
        flash(_("Some filters were not valid and were ignored."), "warning")
        args = {}
    if args.get("region_id"):
        region = area.region_in_scope(current_user, args["region_id"])
    else:
        region = area.default_region(current_user)
    if region is None:
        abort(404)
    chosen = None
    if args.get("round_id"):
        chosen = get_visible_or_404(Round, args["round_id"])
        county = region.county
        if county is None or chosen.region_id != county.id:
            # A round of another county (the area was changed on the form): the latest.
            flash(_("Some filters were not valid and were ignored."), "warning")
            chosen = None
    return distribution.star_overview(
        region, _day(args), scope_clause(Facility, current_user), chosen
    )


@bp.route("/overview")
@roles_required(*AREA_STAFF)
def overview():
    result = _overview()
    charts = {"kinds": figures.by_kind(result), "townships": figures.by_township(result)}
    return render_template(
        "ratings/overview.html",
        ov=result,
        levels=distribution.LEVELS,
        charts={name: fig.to_json() for name, fig in charts.items()},
        regions=area.region_choices(current_user),
        plotly_version=plotly.__version__,
        today=local_today(),
    )


@bp.route("/overview.xlsx")
@roles_required(*AREA_STAFF)
def overview_xlsx():
    result = _overview()
    path = distribution.overview_xlsx(result)

    @after_this_request
    def _cleanup(response):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return response

    region: Region = result.region
    against = result.before.isoformat() if result.before else "-"
    audit.record(
        "rating.overview_exported",
        region_id=region.id,
        note=f"{region.code} {result.day.isoformat()} vs {against} {result.total.now.total}",
    )
    db.session.commit()
    return send_file(
        path,
        as_attachment=True,
        download_name=f"star-overview-{region.code}-{result.day:%Y%m%d}.xlsx",
        mimetype=XLSX,
    )
