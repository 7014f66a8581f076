"""API: a facility's beds and stays, for operators' own systems (token auth).

Staff of the facility's area read; only the facility's operators and administrators act. A
bed or facility outside the caller's scope is 404, the same as a missing one (the list of an
out-of-scope facility too: an empty list could not be told from a facility without beds).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound

from eldercare.beds import inventory
from eldercare.beds.models import Bed, Stay
from eldercare.beds.operations import reservations as holds
from eldercare.beds.operations import rooms as room_ops
from eldercare.beds.operations import state, stays
from eldercare.beds.permissions import person_by_card_limit
from eldercare.beds.schemas import (
    AdmitSchema,
    BackInServiceSchema,
    BedDetailOut,
    BedOut,
    BedQuery,
    BedUpdateSchema,
    BulkOut,
    BulkSchema,
    DischargeOut,
    DischargeSchema,
    LeaveEndSchema,
    LeaveOut,
    LeaveSchema,
    OutageOut,
    OutOfServiceSchema,
    ReservationOut,
    ReserveSchema,
    StayOut,
    TransferSchema,
)
from eldercare.core.api import api_blueprint, api_roles, document_errors, paged
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.permissions import Role, get_visible_or_404
from eldercare.core.transaction import transactional
from eldercare.facilities.models import Facility

blp = api_blueprint("beds", "Beds and stays of a facility")
READERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR)
ACTORS = (Role.ADMIN, Role.OPERATOR)


def _bed(bed_id: int) -> Bed:
    return get_visible_or_404(Bed, bed_id)


def _open_stay(bed: Bed) -> Stay:
    stay = state.open_stay(bed.id)
    if stay is None:
        raise Conflict(_l("Nobody is staying in this bed."))
    return stay


@blp.route("/")
@api_roles(*READERS)
@document_errors(blp, 401, 403, 404, 422)
@blp.arguments(BedQuery, location="query")
@blp.response(200, BedOut(many=True))
def list_beds(args):
    """A facility's beds by floor and room, paged with page/per_page; filters: status,
    care_type, floor. 404 for a facility outside the caller's scope."""
    facility = get_visible_or_404(Facility, args["facility_id"])
    return paged(inventory.search_beds(facility, current_user, args), args)


@blp.route("/bulk", methods=["POST"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 409, 422)
@blp.arguments(BulkSchema)
@blp.response(200, BulkOut)
def bulk_update(data):
    """Change up to 1,000 beds at once, all or nothing: care type, price, out of service
    (with reason and date) or back in service. Errors are keyed by the item's index:
    ``{"errors": {"items": {"3": {"monthly_price": [...]}}}}``; 422 for invalid items or
    beds not found, 409 for beds whose state forbids the change. Nothing is written then."""
    return {"beds": inventory.load_beds(_bulk_update(data["items"]))}


@transactional
def _bulk_update(items: list[dict]) -> list[int]:
    """The ids of the beds changed, committed: the answer reads them afresh (with their rooms,
    in two queries) rather than reloading each expired bed while it is serialised."""
    return [bed.id for bed in inventory.bulk_update(items, current_user)]


@blp.route("/<int:bed_id>")
@api_roles(*READERS)
@document_errors(blp, 401, 403, 404)
@blp.response(200, BedDetailOut)
def get_bed(bed_id: int):
    """One bed, with its current stay while it is occupied or held."""
    bed = state.bed_now(_bed(bed_id))
    return {"bed": bed, "stay": state.open_stay(bed.id)}


@blp.route("/<int:bed_id>", methods=["PATCH"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 422)
@blp.arguments(BedUpdateSchema)
@blp.response(200, BedOut)
@transactional
def update_bed(data, bed_id: int):
    """Change a bed's care type or monthly price (its code and place never change)."""
    bed = room_ops.update_bed(_bed(bed_id), data, current_user)
    return bed


@blp.route("/<int:bed_id>/admit", methods=["POST"])
@person_by_card_limit
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(AdmitSchema)
@blp.response(201, StayOut)
@transactional
def admit(data, bed_id: int):
    """Admit a registered person (ID number and name must match the registry) to a vacant
    bed, or to the bed reserved for them; 409 if the bed is taken or the person has a bed."""
    bed = _bed(bed_id)
    person = stays.person_by_card(data["id_number"], data["name"])
    stay = stays.admit(
        bed, person, data["admitted_on"], data["risks"], current_user, note=data["note"]
    )
    return stay


@blp.route("/<int:bed_id>/discharge", methods=["POST"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(DischargeSchema)
@blp.response(200, DischargeOut)
@transactional
def discharge(data, bed_id: int):
    """End the stay in this bed; the bed is free again. 409 if nobody is in it. A death is
    recorded in the registry (409 if it holds another date); ``effects`` lists what each
    feature did about it."""
    stay = _open_stay(_bed(bed_id))
    done = stays.discharged(
        stay, data["discharged_on"], data["reason"], current_user, note=data["note"]
    )
    return _Answered(done)


class _Answered:
    """The ended stay as ``DischargeOut`` reads it: the stay's fields, and the effects'
    texts in the caller's language."""

    def __init__(self, done: stays.Discharged):
        self._stay = done.stay
        self.effects = [str(effect.text) for effect in done.effects]

    def __getattr__(self, name):
        return getattr(self._stay, name)


@blp.route("/<int:bed_id>/transfer", methods=["POST"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(TransferSchema)
@blp.response(201, StayOut)
@transactional
def transfer(data, bed_id: int):
    """Move the resident of this bed to another bed of the facility; answers the new stay."""
    stay = _open_stay(_bed(bed_id))
    try:
        target = get_visible_or_404(Bed, data["bed_id"])
    except NotFound:  # a bed named in the body: invalid input, not a missing page
        raise Invalid(errors={"bed_id": [inventory.NOT_FOUND]}) from None
    new_stay = stays.transfer(stay, target, data["on"], current_user)
    return new_stay


@blp.route("/<int:bed_id>/leave", methods=["POST"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(LeaveSchema)
@blp.response(201, LeaveOut)
@transactional
def start_leave(data, bed_id: int):
    """The resident goes on leave; the bed is held for them."""
    stay = _open_stay(_bed(bed_id))
    leave = stays.start_leave(stay, data["start_on"], data["reason"], current_user)
    return leave


@blp.route("/<int:bed_id>/leave/end", methods=["POST"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(LeaveEndSchema)
@blp.response(200, LeaveOut)
@transactional
def end_leave(data, bed_id: int):
    """The resident is back from leave."""
    stay = _open_stay(_bed(bed_id))
    leave = stays.end_leave(stay, data["end_on"], current_user)
    return leave


@blp.route("/<int:bed_id>/reserve", methods=["POST"])
@person_by_card_limit
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(ReserveSchema)
@blp.response(201, ReservationOut)
@transactional
def reserve(data, bed_id: int):
    """Keep a vacant bed for someone until ``expires_at``."""
    person = (
        stays.person_by_card(data["id_number"], data["name"]) if data.get("id_number") else None
    )
    reservation = holds.reserve(
        _bed(bed_id), data["holder_name"], data["expires_at"], current_user, person=person
    )
    return reservation


@blp.route("/<int:bed_id>/reservation", methods=["DELETE"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409)
@blp.response(204)
@transactional
def release_reservation(bed_id: int):
    """Release the bed's reservation; 409 if it has none."""
    holds.release_reservation(_bed(bed_id), current_user)


@blp.route("/<int:bed_id>/out-of-service", methods=["POST"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(OutOfServiceSchema)
@blp.response(201, OutageOut)
@transactional
def take_out_of_service(data, bed_id: int):
    """Take a free bed out of service (repairs, infection control...)."""
    outage = holds.take_out_of_service(_bed(bed_id), data["reason"], data["start_on"], current_user)
    return outage


@blp.route("/<int:bed_id>/back-in-service", methods=["POST"])
@api_roles(*ACTORS)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(BackInServiceSchema)
@blp.response(200, OutageOut)
@transactional
def back_in_service(data, bed_id: int):
    """Put a bed back in service; 409 if it is in service."""
    outage = holds.return_to_service(_bed(bed_id), data["on"], current_user)
    return outage
