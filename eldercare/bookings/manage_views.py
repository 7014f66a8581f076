"""The operator's side of bookings: the facility's services and their hours, blackout days,
the requests to answer and the week's booking calendar. The facility's own operators act;
staff of its area read."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.bookings import desk
from eldercare.bookings.models import (
    SERVICE_LABELS,
    Blackout,
    Service,
    ServiceKind,
    kinds_offered_by,
)
from eldercare.bookings.operations import queries
from eldercare.bookings.operations import services as service_ops
from eldercare.bookings.operations.lifecycle import allowed_actions
from eldercare.bookings.schemas import (
    BlackoutSchema,
    CalendarArgs,
    ServiceSchema,
    ServiceUpdateSchema,
)
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Invalid
from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, operates, roles_required
from eldercare.core.schemas import InputSchema, load_form
from eldercare.daycare.models import WEEKDAY_LABELS
from eldercare.facilities.models import Facility

bp = Blueprint("booking_admin", __name__, url_prefix="/facilities/<int:facility_id>/bookings")
#: The operator's menu entry: straight to its own facility's calendar.
desk_bp = Blueprint("booking_desk", __name__)
VIEWERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR)
ACTORS = (Role.ADMIN, Role.OPERATOR)


def _facility(facility_id: int, act: bool = False) -> Facility:
    facility = get_visible_or_404(Facility, facility_id)
    if act and not operates(current_user, facility.id):
        abort(403)
    return facility


def _of(model, record_id: int, facility: Facility):
    """A record of this facility (404 for another facility's, or one out of scope)."""
    record = get_visible_or_404(model, record_id)
    if record.facility_id != facility.id:
        abort(404)
    return record


def _common(facility: Facility) -> dict:
    return {
        "facility": facility,
        "can_act": operates(current_user, facility.id),
        "today": local_today(),
        "weekday_labels": WEEKDAY_LABELS,
    }


# --- the week's calendar and the requests to answer ----------------------------------------


@bp.route("")
@roles_required(*VIEWERS)
def calendar(facility_id: int):
    facility = _facility(facility_id)
    args, errors = load_form(CalendarArgs(), request.args)
    if errors:
        flash(_("Some filters were not valid and were ignored."), "warning")
        args = {}
    monday = desk.monday_of(args.get("week") or local_today())
    week = queries.calendar(facility, monday, 7)
    now = utcnow()
    return render_template(
        "bookings/manage_calendar.html",
        week=week,
        monday=monday,
        sunday=monday + timedelta(days=6),
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        pending=queries.pending_requests(facility),
        # What the operator may do with each booking of the week, by the operations' rules.
        actions={b.id: allowed_actions(b, current_user, now) for day in week.values() for b in day},
        admission=ServiceKind.ADMISSION.value,
        **_common(facility),
    )


# --- services and blackout days ------------------------------------------------------------


def _services_page(facility: Facility, form=None, errors=None, status: int = 200):
    return render_template(
        "bookings/manage_services.html",
        services=service_ops.services_of(facility.id, active_only=False),
        blackouts=service_ops.blackouts_of(facility.id, local_today()),
        form=form or {},
        errors=errors or {},
        **_common(facility),
    ), status


@bp.route("/services")
@roles_required(*VIEWERS)
def services(facility_id: int):
    return _services_page(_facility(facility_id))


def _service_form(service: Service | None) -> dict:
    """The form's values: the service's own, or a new service's defaults."""
    if service is None:
        return {
            "opens_at": "09:00",
            "closes_at": "17:00",
            "slot_minutes": 60,
            "capacity": 1,
            "min_notice_hours": 24,
            "max_days_ahead": 14,
            "cancel_hours": 2,
            "auto_confirm": True,
            "active": True,
        }
    price = service.price_fen
    return {
        "name": service.name,
        "description": service.description,
        "price": None if price is None else f"{price // 100}.{price % 100:02d}",
        "opens_at": service.opens_at.strftime("%H:%M"),
        "closes_at": service.closes_at.strftime("%H:%M"),
        "slot_minutes": service.slot_minutes,
        "capacity": service.capacity,
        "min_notice_hours": service.min_notice_hours,
        "max_days_ahead": service.max_days_ahead,
        "cancel_hours": service.cancel_hours,
        "auto_confirm": service.auto_confirm,
        "active": service.active,
    }


def _service_page(facility: Facility, service: Service | None, errors=None, status: int = 200):
    posted = request.method == "POST"
    if posted:
        form, days = request.form, request.form.getlist("weekdays")
    else:
        form = _service_form(service)
        days = [str(d) for d in (service.weekdays if service else [0, 1, 2, 3, 4])]
    return render_template(
        "bookings/manage_service_form.html",
        service=service,
        kinds=[(kind.value, SERVICE_LABELS[kind]) for kind in kinds_offered_by(facility.kind)],
        form=form,
        days=days,
        errors=errors or {},
        **_common(facility),
    ), status


@bp.route("/services/new", methods=["GET", "POST"])
@roles_required(*ACTORS)
def new_service(facility_id: int):
    facility = _facility(facility_id, act=True)
    if request.method == "GET":
        return _service_page(facility, None)
    result = submit_form(
        ServiceSchema(), lambda d: service_ops.save_service(facility, d, current_user)
    )
    if not result.ok:
        return _service_page(facility, None, result.errors, result.status)
    flash(_("Service %(name)s created.", name=result.value.name), "success")
    return redirect(url_for("booking_admin.services", facility_id=facility.id))


def _without_kind(data: dict) -> dict:
    """The kind of an existing service is fixed: whatever was sent for it is dropped."""
    return {key: value for key, value in data.items() if key != "kind"}


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@roles_required(*ACTORS)
def edit_service(facility_id: int, service_id: int):
    facility = _facility(facility_id, act=True)
    service = _of(Service, service_id, facility)
    if request.method == "GET":
        return _service_page(facility, service)
    result = submit_form(
        ServiceUpdateSchema(),
        lambda d: service_ops.save_service(
            facility, _without_kind(d), current_user, service=service
        ),
    )
    if not result.ok:
        return _service_page(facility, service, result.errors, result.status)
    flash(_("Service %(name)s saved.", name=service.name), "success")
    return redirect(url_for("booking_admin.services", facility_id=facility.id))


@bp.route("/blackouts", methods=["POST"])
@roles_required(*ACTORS)
def add_blackout(facility_id: int):
    facility = _facility(facility_id, act=True)

    def action(data):
        service = None
        if data.get("service_id"):
            service = desk.service_of(facility, data["service_id"])
            if service is None:
                raise Invalid(errors={"service_id": [_("Not a service of this facility.")]})
        return service_ops.add_blackout(
            facility, data["day"], data["reason"], current_user, service
        )

    result = submit_form(BlackoutSchema(), action)
    if not result.ok:
        return _services_page(facility, request.form, result.errors, result.status)
    flash(_("%(day)s is closed for bookings.", day=result.value.day.isoformat()), "success")
    return redirect(url_for("booking_admin.services", facility_id=facility.id))


@bp.route("/blackouts/<int:blackout_id>/delete", methods=["POST"])
@roles_required(*ACTORS)
def remove_blackout(facility_id: int, blackout_id: int):
    facility = _facility(facility_id, act=True)
    blackout = _of(Blackout, blackout_id, facility)
    day = blackout.day
    result = submit_form(
        InputSchema(), lambda d: service_ops.remove_blackout(blackout, current_user)
    )
    if result.ok:
        flash(_("%(day)s takes bookings again.", day=day.isoformat()), "info")
    result.flash_errors()
    return redirect(url_for("booking_admin.services", facility_id=facility.id))


# --- the operator's menu entry -------------------------------------------------------------


@desk_bp.route("/bookings/desk")
@roles_required(Role.OPERATOR)
def index():
    """An operator's bookings are its own facility's: the menu goes straight there."""
    facility = _facility(current_user.facility_id)
    return redirect(url_for("booking_admin.calendar", facility_id=facility.id))
