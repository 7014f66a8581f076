"""Bed board and bed pages of a facility (operators act, staff of the area look)."""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound

from eldercare.beds import history, importer
from eldercare.beds.models import (
    CARE_TYPE_LABELS,
    DISCHARGE_LABELS,
    RISK_LEVEL_LABELS,
    RISKS,
    STATUS_LABELS,
    Bed,
    BedStatus,
    DischargeReason,
    Room,
)
from eldercare.beds.operations import occupancy, state, stays
from eldercare.beds.operations import reservations as holds
from eldercare.beds.operations import rooms as room_ops
from eldercare.beds.permissions import person_by_card_limit
from eldercare.beds.schemas import (
    AdmitFormSchema,
    BackInServiceSchema,
    DischargeSchema,
    LeaveEndSchema,
    LeaveSchema,
    NewBedFormSchema,
    OutOfServiceSchema,
    ReserveSchema,
    RoomSchema,
    TransferSchema,
)
from eldercare.core.db import local_today
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.forms import submit_form
from eldercare.core.permissions import (
    Role,
    get_visible_or_404,
    operates,
    roles_required,
)
from eldercare.core.schemas import InputSchema, load_form
from eldercare.core.spreadsheets import SpreadsheetError
from eldercare.facilities.models import Facility

bp = Blueprint("beds", __name__, url_prefix="/facilities/<int:facility_id>/beds")
VIEWERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR)
ACTORS = (Role.ADMIN, Role.OPERATOR)
#: Bootstrap colour of each status on the board.
STATUS_COLOURS = {
    BedStatus.VACANT.value: "success",
    BedStatus.OCCUPIED.value: "primary",
    BedStatus.RESERVED.value: "warning",
    BedStatus.HELD.value: "info",
    BedStatus.OUT_OF_SERVICE.value: "secondary",
}
DISCHARGE_CHOICES = [
    (r.value, DISCHARGE_LABELS[r]) for r in DischargeReason if r.value != "transfer"
]
RISKS_MESSAGE = _l("Assess each of the nine risks as low, medium or high.")


# --- loading --------------------------------------------------------------------------------


def _facility(facility_id: int, act: bool = False) -> Facility:
    facility = get_visible_or_404(Facility, facility_id)
    if act and not operates(current_user, facility.id):
        abort(403)
    return facility


def _bed(facility_id: int, bed_id: int, act: bool = False) -> tuple[Facility, Bed]:
    facility = _facility(facility_id, act)
    bed = get_visible_or_404(Bed, bed_id)
    if bed.facility_id != facility.id:
        abort(404)
    return facility, bed


def _holder(data: dict):
    """The registered person a reservation is for, when the form names one."""
    return stays.person_by_card(data["id_number"], data["name"]) if data.get("id_number") else None


def _resident_stay(bed: Bed):
    stay = state.open_stay(bed.id)
    if stay is None:
        raise Conflict(_l("Nobody is in this bed."))
    return stay


def _target_bed(facility: Facility, bed_id: int) -> Bed:
    try:
        target = get_visible_or_404(Bed, bed_id)
    except NotFound:  # a bed named in the form: a wrong choice, not a missing page
        target = None
    if target is None or target.facility_id != facility.id:
        raise Invalid(errors={"bed_id": [_l("Choose a bed of the same facility.")]})
    return target


# --- pages ----------------------------------------------------------------------------------


def _board_page(facility: Facility, form=None, errors=None, failed: str = "", status: int = 200):
    floors = occupancy.board(facility, current_user)
    beds = [bed for _floor, rooms in floors for _room, room_beds in rooms for bed in room_beds]
    counts = Counter(bed.status for bed in beds)
    floor_names = {floor: _("Floor %(n)s", n=floor) for floor, _rooms in floors}
    return render_template(
        "beds/board.html",
        facility=facility,
        floors=floors,
        counts=counts,
        total=len(beds),
        residents=history.open_residents(facility, current_user),
        reservations=history.open_reservations(facility, current_user),
        room_choices=[
            (room.id, floor_names[floor] + " · " + room.title)
            for floor, rooms in floors
            for room, _beds in rooms
        ],
        can_act=operates(current_user, facility.id),
        statuses=STATUS_LABELS,
        # Each label translated once, not once a bed.
        status_labels={status.value: str(label) for status, label in STATUS_LABELS.items()},
        colours=STATUS_COLOURS,
        care_types=CARE_TYPE_LABELS,
        care_type_labels={kind.value: str(label) for kind, label in CARE_TYPE_LABELS.items()},
        form=form or {},
        errors=errors or {},
        failed=failed,
    ), status


def _bed_page(facility: Facility, bed: Bed, form=None, errors=None, failed="", status=200):
    """The bed as of now: a reservation that has run out shows the bed free (the scheduled
    job ends it; the page writes nothing)."""
    bed = state.bed_now(bed)
    today = local_today()
    on_errors = {}
    asked_on = None
    who = None
    if "on" in request.args:
        asked, on_errors = load_form(BackInServiceSchema(), request.args)
        if not on_errors:
            asked_on = asked["on"]
            who = occupancy.resident_on(bed.id, asked_on)
    stay = state.open_stay(bed.id)
    return render_template(
        "beds/show.html",
        facility=facility,
        bed=bed,
        stay=stay,
        reservation=state.current_reservation(bed.id),
        outage=state.open_outage(bed.id),
        history=history.bed_history(bed, current_user),
        transfer_choices=[
            (b.id, f"{b.title} · {b.care_type_label}")
            for b in history.vacant_beds(facility, current_user, exclude=bed.id)
        ],
        can_act=operates(current_user, facility.id),
        colours=STATUS_COLOURS,
        risks=RISKS,
        risk_levels=RISK_LEVEL_LABELS,
        discharge_reasons=DISCHARGE_CHOICES,
        today=today.isoformat(),
        form=form or {},
        errors=errors or {},
        failed=failed,
        asked_on=asked_on,
        on_errors=on_errors,
        who=who,
    ), status


@bp.route("")
@roles_required(*VIEWERS)
def board(facility_id: int):
    return _board_page(_facility(facility_id))


@bp.route("/<int:bed_id>")
@roles_required(*VIEWERS)
def show(facility_id: int, bed_id: int):
    facility, bed = _bed(facility_id, bed_id)
    return _bed_page(facility, bed)


def _act(facility_id: int, bed_id: int, name: str, schema, action, done: str, told=None):
    """Load the bed, check, validate the form, run one operation, commit once; a refusal
    re-renders the bed page with what was typed and the operation's message. ``told``: what
    else to show after ``done``, from the operation's result (a list of texts)."""
    facility, bed = _bed(facility_id, bed_id, act=True)
    result = submit_form(schema, lambda data: action(facility, bed, data))
    if not result.ok:
        if "risks" in result.errors and not all(isinstance(m, str) for m in result.errors["risks"]):
            result.errors["risks"] = [str(RISKS_MESSAGE)]
        return _bed_page(facility, bed, request.form, result.errors, name, result.status)
    flash(done, "success")
    for text in told(result.value) if told else ():
        flash(str(text), "info")
    return redirect(url_for("beds.board", facility_id=facility.id, _anchor=f"bed-{bed.id}"))


@bp.route("/<int:bed_id>/admit", methods=["POST"])
@person_by_card_limit
@roles_required(*ACTORS)
def admit(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "admit",
        AdmitFormSchema(),
        lambda f, bed, d: stays.admit(
            bed,
            stays.person_by_card(d["id_number"], d["name"]),
            d["admitted_on"],
            d["risks"],
            current_user,
            note=d["note"],
        ),
        _("Admitted."),
    )


@bp.route("/<int:bed_id>/discharge", methods=["POST"])
@roles_required(*ACTORS)
def discharge(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "discharge",
        DischargeSchema(),
        lambda f, bed, d: stays.discharged(
            _resident_stay(bed), d["discharged_on"], d["reason"], current_user, note=d["note"]
        ),
        _("Discharged; the bed is free."),
        told=lambda done: [effect.text for effect in done.effects],
    )


@bp.route("/<int:bed_id>/transfer", methods=["POST"])
@roles_required(*ACTORS)
def transfer(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "transfer",
        TransferSchema(),
        lambda f, bed, d: stays.transfer(
            _resident_stay(bed), _target_bed(f, d["bed_id"]), d["on"], current_user
        ),
        _("Moved to the other bed."),
    )


@bp.route("/<int:bed_id>/leave", methods=["POST"])
@roles_required(*ACTORS)
def start_leave(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "leave",
        LeaveSchema(),
        lambda f, bed, d: stays.start_leave(
            _resident_stay(bed), d["start_on"], d["reason"], current_user
        ),
        _("Leave recorded; the bed is held."),
    )


@bp.route("/<int:bed_id>/leave/end", methods=["POST"])
@roles_required(*ACTORS)
def end_leave(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "end_leave",
        LeaveEndSchema(),
        lambda f, bed, d: stays.end_leave(_resident_stay(bed), d["end_on"], current_user),
        _("The resident is back."),
    )


@bp.route("/<int:bed_id>/reserve", methods=["POST"])
@person_by_card_limit
@roles_required(*ACTORS)
def reserve(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "reserve",
        ReserveSchema(),
        lambda f, bed, d: holds.reserve(
            bed, d["holder_name"], d["expires_at"], current_user, person=_holder(d)
        ),
        _("Bed reserved."),
    )


@bp.route("/<int:bed_id>/release", methods=["POST"])
@roles_required(*ACTORS)
def release(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "release",
        InputSchema(),
        lambda f, bed, d: holds.release_reservation(bed, current_user),
        _("Reservation released."),
    )


@bp.route("/<int:bed_id>/out-of-service", methods=["POST"])
@roles_required(*ACTORS)
def out_of_service(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "out_of_service",
        OutOfServiceSchema(),
        lambda f, bed, d: holds.take_out_of_service(bed, d["reason"], d["start_on"], current_user),
        _("Bed taken out of service."),
    )


@bp.route("/<int:bed_id>/back-in-service", methods=["POST"])
@roles_required(*ACTORS)
def back_in_service(facility_id: int, bed_id: int):
    return _act(
        facility_id,
        bed_id,
        "back_in_service",
        BackInServiceSchema(),
        lambda f, bed, d: holds.return_to_service(bed, d["on"], current_user),
        _("Bed back in service."),
    )


# --- rooms, beds, import ----------------------------------------------------------------------


@bp.route("/rooms", methods=["POST"])
@roles_required(*ACTORS)
def add_room(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(
        RoomSchema(), lambda data: room_ops.create_room(facility, data, current_user)
    )
    if not result.ok:
        return _board_page(facility, request.form, result.errors, "room", result.status)
    flash(_("Room %(room)s added.", room=result.value.title), "success")
    return redirect(url_for("beds.board", facility_id=facility.id))


def _room_of(facility: Facility, room_id: int) -> Room:
    try:
        room = get_visible_or_404(Room, room_id)
    except NotFound:
        room = None
    if room is None or room.facility_id != facility.id:
        raise Invalid(errors={"room_id": [_l("Choose a room of this facility.")]})
    return room


@bp.route("/new", methods=["POST"])
@roles_required(*ACTORS)
def add_bed(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(
        NewBedFormSchema(),
        lambda data: room_ops.create_bed(_room_of(facility, data["room_id"]), data, current_user),
    )
    if not result.ok:
        return _board_page(facility, request.form, result.errors, "bed", result.status)
    flash(_("Bed %(code)s added.", code=result.value.title), "success")
    return redirect(
        url_for("beds.board", facility_id=facility.id, _anchor=f"bed-{result.value.id}")
    )


def _import(facility: Facility, outcome: dict) -> importer.ImportResult:
    """Import the uploaded sheet, all or nothing: a sheet with any error is refused (the
    page lists the errors kept in ``outcome``) and nothing of it is written."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        outcome["error"] = _("Choose a file to upload.")
    else:
        try:
            outcome["result"] = importer.import_beds(
                facility, upload.filename, upload.read(), current_user
            )
        except SpreadsheetError as exc:
            outcome["error"] = str(exc)
    result = outcome.get("result")
    if result is None or not result.ok:
        raise Invalid()
    return result


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*ACTORS)
def import_beds(facility_id: int):
    facility = _facility(facility_id, act=True)
    result, error = None, None
    if request.method == "POST":
        outcome: dict = {}
        done = submit_form(InputSchema(), lambda data: _import(facility, outcome))
        if done.ok:
            flash(
                _(
                    "%(rooms)s rooms and %(beds)s beds imported.",
                    rooms=done.value.rooms,
                    beds=done.value.created,
                ),
                "success",
            )
            return redirect(url_for("beds.board", facility_id=facility.id))
        result, error = outcome.get("result"), outcome.get("error")
    status = 422 if (error or (result and not result.ok)) else 200
    return render_template(
        "beds/import.html",
        facility=facility,
        result=result,
        error=error,
        columns=importer.HEADERS,
        required=importer.REQUIRED_COLUMNS,
    ), status
