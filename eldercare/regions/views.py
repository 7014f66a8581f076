"""Pages to browse the administrative regions of one's scope, and a county's settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.core.templating import yuan
from eldercare.regions.models import Region
from eldercare.regions.operations import (
    can_edit_county_settings,
    county_settings_for,
    top_regions,
    update_county_settings,
)
from eldercare.regions.schemas import CountySettingsSchema

bp = Blueprint("regions", __name__, url_prefix="/regions")


@bp.route("/")
@roles_required(Role.ADMIN, Role.COUNTY_STAFF)
def index():
    if current_user.region is not None:
        return show(current_user.region.id)
    return render_template(
        "regions/index.html",
        region=None,
        children=top_regions(),
        trail=[],
        can_edit_settings=False,
    )


@bp.route("/<int:region_id>")
@roles_required(Role.ADMIN, Role.COUNTY_STAFF)
def show(region_id: int):
    region = get_visible_or_404(Region, region_id)
    # Staff browse inside their own region only (the scope of their work).
    own = current_user.region
    if own is not None and not own.contains(region):
        abort(404)
    trail = [r for r in region.ancestors() if own is None or own.contains(r)]
    return render_template(
        "regions/index.html",
        region=region,
        children=region.children,
        trail=trail,
        can_edit_settings=can_edit_county_settings(current_user, region),
    )


def _county_for_settings(region_id: int) -> Region:
    """The county whose settings the user keeps: 404 when it is not a county or not theirs
    (never revealing which), as for any record out of scope."""
    region = get_visible_or_404(Region, region_id)
    if not can_edit_county_settings(current_user, region):
        abort(404)
    return region


def _settings_form(settings) -> dict:
    return {
        "subsidy_periods_ahead": settings.subsidy_periods_ahead,
        "bed_price_min": yuan(settings.bed_price_min_fen, grouped=False),
        "bed_price_max": yuan(settings.bed_price_max_fen, grouped=False),
    }


@bp.route("/<int:region_id>/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.COUNTY_STAFF)
def settings(region_id: int):
    region = _county_for_settings(region_id)
    form, errors, status = None, {}, 200
    if request.method == "POST":
        result = submit_form(
            CountySettingsSchema(),
            lambda data: update_county_settings(region, data, current_user),
        )
        if result.ok:
            flash(_("The county's settings are saved."), "success")
            return redirect(url_for("regions.settings", region_id=region.id))
        form, errors, status = request.form, result.errors, result.status
    current = county_settings_for(region)
    return render_template(
        "regions/settings.html",
        region=region,
        current=current,
        updated_by=current.updated_by if current.updated_by_id else None,
        form=form or _settings_form(current),
        errors=errors,
    ), status
