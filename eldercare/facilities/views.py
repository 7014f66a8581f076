"""Facility registry pages: list, show, create, edit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.core.signals import merged
from eldercare.facilities import operations as ops
from eldercare.facilities import signals
from eldercare.facilities.models import KIND_LABELS, OWNERSHIP_LABELS, Facility
from eldercare.facilities.schemas import FacilityQuery, FacilitySchema

bp = Blueprint("facilities", __name__, url_prefix="/facilities")
VIEWERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR)


def _form_page(form, facility: Facility | None, errors: dict, status: int = 200):
    return render_template(
        "facilities/form.html",
        kinds=KIND_LABELS,
        ownerships=OWNERSHIP_LABELS,
        regions=ops.regions_for_choice(current_user),
        form=form,
        facility=facility,
        errors=errors,
        locked=ops.registry_fields_locked(current_user),
    ), status


@bp.route("/")
@roles_required(*VIEWERS)
def index():
    page, _args = list_page(FacilityQuery(), lambda args: ops.facility_list(current_user, args))
    return render_template(
        "facilities/index.html",
        page=page,
        kinds=KIND_LABELS,
        args=request.args,
        can_create=ops.can_edit(current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.COUNTY_STAFF)
def new():
    if request.method == "GET":
        return _form_page({}, None, {})
    result = submit_form(FacilitySchema(), lambda data: ops.create_facility(data, current_user))
    if not result.ok:
        return _form_page(request.form, None, result.errors, result.status)
    flash(_("Facility %(name)s created.", name=result.value.name), "success")
    return redirect(url_for("facilities.show", facility_id=result.value.id))


@bp.route("/<int:facility_id>")
@roles_required(*VIEWERS)
def show(facility_id: int):
    facility = get_visible_or_404(Facility, facility_id)
    return render_template(
        "facilities/show.html",
        facility=facility,
        can_edit=ops.can_edit(current_user, facility),
        **merged(signals.details_shown, facility),
    )


@bp.route("/<int:facility_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.COUNTY_STAFF, Role.OPERATOR)
def edit(facility_id: int):
    facility = get_visible_or_404(Facility, facility_id)
    if not ops.can_edit(current_user, facility):
        abort(403)
    if request.method == "GET":
        return _form_page(ops.snapshot(facility), facility, {})
    result = submit_form(
        FacilitySchema(), lambda data: ops.update_facility(facility, data, current_user)
    )
    if not result.ok:
        return _form_page(request.form, facility, result.errors, result.status)
    flash(_("Facility %(name)s saved.", name=facility.name), "success")
    return redirect(url_for("facilities.show", facility_id=facility.id))
