"""API: facilities within the caller's scope."""

from __future__ import annotations

from flask_login import current_user

from eldercare.core.api import api_blueprint, api_roles, document_errors, paged
from eldercare.core.errors import AppError
from eldercare.core.permissions import Role, get_visible_or_404
from eldercare.core.transaction import transactional
from eldercare.facilities import operations as ops
from eldercare.facilities.models import Facility
from eldercare.facilities.schemas import FacilityOut, FacilityQuery, FacilitySchema

blp = api_blueprint("facilities", "Care facilities in the caller's scope")
VIEWERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR)


@blp.route("/")
@api_roles(*VIEWERS)
@document_errors(blp, 401, 403, 422)
@blp.arguments(FacilityQuery, location="query")
@blp.response(200, FacilityOut(many=True))
def list_facilities(args):
    """Facilities visible to the caller, paged with page/per_page."""
    return paged(ops.search_facilities(current_user, args), args)


@blp.route("/", methods=["POST"])
@api_roles(Role.ADMIN, Role.COUNTY_STAFF)
@document_errors(blp, 401, 403, 422)
@blp.arguments(FacilitySchema)
@blp.response(201, FacilityOut)
@transactional
def create_facility(data):
    """Register a facility in the caller's county."""
    facility = ops.create_facility(data, current_user)
    return facility


@blp.route("/<int:facility_id>")
@api_roles(*VIEWERS)
@document_errors(blp, 401, 403, 404)
@blp.response(200, FacilityOut)
def get_facility(facility_id: int):
    """One facility."""
    return get_visible_or_404(Facility, facility_id)


@blp.route("/<int:facility_id>", methods=["PUT"])
@api_roles(Role.ADMIN, Role.COUNTY_STAFF, Role.OPERATOR)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(FacilitySchema)
@blp.response(200, FacilityOut)
@transactional
def update_facility(data, facility_id: int):
    """Replace a facility's details (operators cannot move or reclassify it). Switching it
    off (``active`` false) is refused with 409 while it has residents staying, beds reserved,
    day-care members or bookings to come; ``errors.active`` lists what to do first."""
    facility = get_visible_or_404(Facility, facility_id)
    if not ops.can_edit(current_user, facility):
        raise AppError(403)
    ops.update_facility(facility, data, current_user)
    return facility
