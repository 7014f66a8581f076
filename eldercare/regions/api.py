"""API: list regions (administrative divisions are readable by every signed-in user)."""

from __future__ import annotations

from flask_login import current_user

from eldercare.core.api import api_blueprint, api_roles, document_errors
from eldercare.core.permissions import get_visible_or_404, visible
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.regions.schemas import RegionOut, RegionQuery

blp = api_blueprint("regions", "Administrative regions (GB/T 2260-style codes)")


@blp.route("/")
@api_roles()
@document_errors(blp, 401, 422)
@blp.arguments(RegionQuery, location="query")
@blp.response(200, RegionOut(many=True))
def list_regions(args):
    """Regions, filtered by parent or level; top level when no parent is given."""
    stmt = visible(Region, current_user).order_by(Region.code)
    if "parent_id" in args:
        stmt = stmt.where(Region.parent_id == args["parent_id"])
    elif "level" not in args:
        stmt = stmt.where(Region.parent_id.is_(None))
    if "level" in args:
        stmt = stmt.where(Region.level == args["level"])
    if not args["include_abolished"]:
        stmt = stmt.where(Region.abolished_on.is_(None))
    return db.session.scalars(stmt.limit(5000)).all()


@blp.route("/<int:region_id>")
@api_roles()
@document_errors(blp, 401, 404)
@blp.response(200, RegionOut)
def get_region(region_id: int):
    """One region."""
    return get_visible_or_404(Region, region_id)
