"""Pages to browse the administrative regions of one's scope."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.regions.models import Region
from eldercare.regions.operations import top_regions

bp = Blueprint("regions", __name__, url_prefix="/regions")


@bp.route("/")
@roles_required(Role.ADMIN, Role.COUNTY_STAFF)
def index():
    if current_user.region is not None:
        return show(current_user.region.id)
    return render_template("regions/index.html", region=None, children=top_regions(), trail=[])


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
        "regions/index.html", region=region, children=region.children, trail=trail
    )
