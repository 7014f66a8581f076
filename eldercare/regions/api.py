"""API: list regions (administrative divisions are readable by every signed-in user)."""

from __future__ import annotations

from flask_login import current_user

from eldercare.core.api import api_blueprint, api_roles, document_errors
from eldercare.core.permissions import get_visible_or_404
from eldercare.regions.models import Region
from eldercare.regions.operations import list_regions as list_regions_in_scope
from eldercare.regions.schemas import RegionOut, RegionQuery

blp = api_blueprint("regions", "Administrative regions (GB/T 2260-style codes)")


@blp.route("/")
@api_roles()
@document_errors(blp, 401, 422)
@blp.arguments(RegionQuery, location="query")
@blp.response(200, RegionOut(many=True))
def list_regions(args):
    """Regions, filtered by parent or level; top level when no parent is given."""
    return list_regions_in_scope(current_user, args)


@blp.route("/<int:region_id>")
@api_roles()
@document_errors(blp, 401, 404)
@blp.response(200, RegionOut)
def get_region(region_id: int):
    """One region."""
    return get_visible_or_404(Region, region_id)
