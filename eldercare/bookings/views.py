"""Booking pages of families (find a time, book, my bookings, cancel, the .ics file) and the
actions on one booking (confirm, decline, complete)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import NotFound

from eldercare.bookings.ics import booking_ics
from eldercare.bookings.models import Booking, BookingStatus, Service, ServiceKind
from eldercare.bookings.operations import admission as admissions
from eldercare.bookings.operations import lifecycle, queries, slots
from eldercare.bookings.operations.services import bookable_service
from eldercare.bookings.schemas import (
    BookingSchema,
    CancelSchema,
    ConfirmSchema,
    FinishSchema,
    SlotArgs,
)
from eldercare.core.db import MAX_ID, local_date, utcnow
from eldercare.core.errors import Invalid
from eldercare.core.forms import FormResult, list_page, submit_form
from eldercare.core.navigation import safe_next
from eldercare.core.permissions import (
    Role,
    get_visible_or_404,
    operates,
    role_of,
    roles_required,
)
from eldercare.core.schemas import PageArgs, load_form
from eldercare.daycare.models import WEEKDAY_LABELS
from eldercare.people.models import Person

bp = Blueprint("bookings", __name__, url_prefix="/bookings")
FAMILY = (Role.FAMILY,)
#: Who opens a booking, each within their scope: the relative's verified family, the
#: facility's operators, staff of its area, administrators.
VIEWERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR, Role.FAMILY)
#: Who answers bookings: the facility's operators (and administrators).
ANSWERERS = (Role.ADMIN, Role.OPERATOR)
#: Who cancels: the family before the cut-off, the facility with a reason.
CANCELLERS = (Role.ADMIN, Role.OPERATOR, Role.FAMILY)
#: Days of slots on one screen of the booking page.
WEEK = 7

# --- the family's bookings ------------------------------------------------------------------


@bp.route("/")
@roles_required(*FAMILY)
def mine():
    now = utcnow()
    upcoming = queries.upcoming_bookings(current_user, now=now)
    past, _args = list_page(
        PageArgs(), lambda args: queries.family_bookings(current_user, upcoming=False, now=now)
    )
    return render_template(
        "bookings/mine.html",
        upcoming=upcoming,
        past=past,
        cancellable={b.id for b in upcoming if lifecycle.can_cancel(b, current_user, now)},
        has_relatives=bool(lifecycle.bookable_relatives(current_user)),
    )


# --- booking a service ----------------------------------------------------------------------


def _service(service_id: int) -> Service:
    """A service open to booking: active, of an active facility (else 404, as if missing)."""
    service = bookable_service(service_id) if service_id <= MAX_ID else None
    if service is None:
        abort(404)
    return service


def _relative(person_id: int) -> Person:
    """One of the family member's verified relatives; anyone else is refused like a wrong
    choice, never saying whether that person exists."""
    try:
        return get_visible_or_404(Person, person_id)
    except NotFound:
        raise Invalid(errors={"person_id": [_("Choose one of your verified relatives.")]}) from None


def _week_start(today: date, last_day: date) -> date:
    """The first day shown: the ``start`` asked for, kept between today and the last day one
    may book (an invalid or far-off date shows the first week)."""
    args, errors = load_form(SlotArgs(), request.args)
    start = None if errors else args.get("start")
    if start is None or start < today or start > last_day:
        return today
    return start


def _booking_page(service: Service, form, errors: dict | None = None, status: int = 200):
    now = utcnow()
    today = local_date(now)
    _earliest, last_day = slots.window(service, now)
    start = _week_start(today, last_day)
    previous = max(start - timedelta(days=WEEK), today) if start > today else None
    following = start + timedelta(days=WEEK)
    return render_template(
        "bookings/new.html",
        service=service,
        facility=service.facility,
        days=slots.availability(service, now=now, first=start, days=WEEK),
        start=start,
        today=today,
        previous=previous,
        following=following if following <= last_day else None,
        relatives=lifecycle.bookable_relatives(current_user),
        form=form,
        errors=errors or {},
        is_visit=service.kind == ServiceKind.VISIT.value,
        weekday_labels=WEEKDAY_LABELS,
    ), status


@bp.route("/services/<int:service_id>")
@roles_required(*FAMILY)
def new(service_id: int):
    service = _service(service_id)
    relatives = lifecycle.bookable_relatives(current_user)
    form = {"contact_phone": current_user.phone or "", "party_size": 1}
    if len(relatives) == 1:
        form["person_id"] = relatives[0].id
    return _booking_page(service, form)


@bp.route("/services/<int:service_id>", methods=["POST"])
@roles_required(*FAMILY)
def create(service_id: int):
    service = _service(service_id)

    def action(data: dict) -> Booking:
        person = _relative(data["person_id"])
        # Only a visit brings several people; other services are for the relative alone.
        if service.kind != ServiceKind.VISIT.value:
            data = {**data, "party_size": 1}
        return lifecycle.book(current_user, service, person, data["starts_at"], data)

    result = submit_form(BookingSchema(), action)
    if not result.ok:
        return _booking_page(service, request.form, result.errors, result.status)
    booking = result.value
    if booking.status == BookingStatus.CONFIRMED.value:
        flash(_("Booked and confirmed. We have sent you the details."), "success")
    else:
        flash(_("Your request is sent. The facility will confirm it; we will tell you."), "info")
    return redirect(url_for("bookings.show", booking_id=booking.id))


# --- one booking ----------------------------------------------------------------------------


@bp.route("/<int:booking_id>")
@roles_required(*VIEWERS)
def show(booking_id: int):
    booking = get_visible_or_404(Booking, booking_id)
    manage = operates(current_user, booking.facility_id)
    actions = lifecycle.allowed_actions(booking, current_user)
    admission = admissions.is_admission(booking)
    return render_template(
        "bookings/show.html",
        booking=booking,
        service=booking.service,
        facility=booking.facility,
        manage=manage,
        is_family=role_of(current_user) == Role.FAMILY,
        # The phone of whoever booked: for the facility, and for that family member.
        full_contact=manage or booking.user_id == current_user.id,
        actions=actions,
        can_cancel="cancel" in actions,
        cancel_deadline=lifecycle.cancel_deadline(booking),
        can_confirm="confirm" in actions,
        free_beds=admissions.free_beds_for_admission(booking.facility)
        if "decline" in actions and admission
        else [],
        admission=admission,
        can_finish="finish" in actions,
        ended_by_facility=booking.ended_by is not None
        # The role as recorded, not role_of(): an operator's account deactivated since
        # still cancelled as the facility.
        and booking.ended_by.role in (Role.OPERATOR.value, Role.ADMIN.value),
    )


@bp.route("/<int:booking_id>.ics", endpoint="ics")
@roles_required(*VIEWERS)
def ics_file(booking_id: int):
    booking = get_visible_or_404(Booking, booking_id)
    response = make_response(booking_ics(booking))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f"attachment; filename=booking-{booking.id}.ics"
    # It names the relative: not for shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _back(booking_id: int, result: FormResult):
    """After an action: flash what went wrong and return to the page it came from (a path
    of this site only), else to the booking."""
    result.flash_errors()
    target = request.form.get("next")
    if not (target and safe_next(target) == target):
        target = url_for("bookings.show", booking_id=booking_id)
    return redirect(target), (303 if not result.ok else 302)


@bp.route("/<int:booking_id>/cancel", methods=["POST"])
@roles_required(*CANCELLERS)
def cancel(booking_id: int):
    booking = get_visible_or_404(Booking, booking_id)
    result = submit_form(
        CancelSchema(), lambda data: lifecycle.cancel(booking, current_user, data["reason"])
    )
    if result.ok:
        flash(_("The booking is cancelled."), "success")
    return _back(booking_id, result)


@bp.route("/<int:booking_id>/confirm", methods=["POST"])
@roles_required(*ANSWERERS)
def confirm(booking_id: int):
    booking = get_visible_or_404(Booking, booking_id)
    if not operates(current_user, booking.facility_id):
        abort(403)
    result = submit_form(
        ConfirmSchema(),
        lambda data: lifecycle.confirm(
            booking, current_user, bed=admissions.bed_of(booking, data["bed_id"])
        ),
    )
    if result.ok:
        flash(_("The booking is confirmed; the family is told."), "success")
    return _back(booking_id, result)


@bp.route("/<int:booking_id>/finish", methods=["POST"])
@roles_required(*ANSWERERS)
def finish(booking_id: int):
    booking = get_visible_or_404(Booking, booking_id)
    if not operates(current_user, booking.facility_id):
        abort(403)
    result = submit_form(
        FinishSchema(), lambda data: lifecycle.finish(booking, data["outcome"], current_user)
    )
    if result.ok:
        flash(_("Saved."), "success")
    return _back(booking_id, result)
