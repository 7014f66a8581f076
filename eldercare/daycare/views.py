"""Day-care pages of a center: the day's roster (one tap to check in, out, serve a meal),
members, activities, incidents and settings. Operators act; staff of the area read."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.beds.models import RISKS
from eldercare.beds.operations import person_by_card
from eldercare.beds.permissions import person_by_card_limit
from eldercare.core.db import local_today
from eldercare.core.forms import FormResult, load_filters, submit_form
from eldercare.core.permissions import (
    Role,
    get_visible_or_404,
    operates,
    roles_required,
)
from eldercare.core.schemas import load_form
from eldercare.daycare import operations as ops
from eldercare.daycare.models import (
    CATEGORY_LABELS,
    MEAL_LABELS,
    SEVERITY_LABELS,
    WEEKDAY_LABELS,
    Attendance,
    ClosedDay,
    Incident,
    Meal,
    Member,
)
from eldercare.daycare.schemas import (
    ActivitySchema,
    CenterSchema,
    CheckInSchema,
    ClosedDaySchema,
    CloseIncidentSchema,
    DaySchema,
    IncidentSchema,
    LeaveSchema,
    MealSchema,
    MemberSchema,
    NewMemberSchema,
)
from eldercare.facilities.models import Facility
from eldercare.people.models import Person

bp = Blueprint("daycare", __name__, url_prefix="/facilities/<int:facility_id>/daycare")
VIEWERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.OPERATOR)
ACTORS = (Role.ADMIN, Role.OPERATOR)


def _facility(facility_id: int, act: bool = False) -> Facility:
    facility = get_visible_or_404(Facility, facility_id)
    if not ops.runs_daycare(facility):
        abort(404)
    if act and not operates(current_user, facility.id):
        abort(403)
    return facility


def _of(model, record_id: int, facility: Facility):
    """A record of this center (404 for another center's, or one out of scope)."""
    record = get_visible_or_404(model, record_id)
    if record.facility_id != facility.id:
        abort(404)
    return record


def _person(facility: Facility, person_id: int, field: str = "person_id") -> Person:
    """A person the operator may name here (a member, a resident or a walk-in)."""
    return ops.person_for(facility, person_id, current_user, field)


def _common(facility: Facility) -> dict:
    return {
        "facility": facility,
        "center": ops.center_of(facility),
        "can_act": operates(current_user, facility.id),
        "today": local_today(),
        "meal_labels": MEAL_LABELS,
        "weekday_labels": WEEKDAY_LABELS,
    }


def _back(result: FormResult, facility: Facility, day=None, endpoint: str = "daycare.roster"):
    """After an action: flash what went wrong (the roster is a list of one-tap buttons, so
    its refusals come back as messages) and return to the page."""
    result.flash_errors()
    values = {"facility_id": facility.id}
    if day is not None and day != local_today():
        values["day"] = day.isoformat()
    return redirect(url_for(endpoint, **values)), (303 if not result.ok else 302)


# --- the roster -----------------------------------------------------------------------------


@bp.route("")
@roles_required(*VIEWERS)
def roster(facility_id: int):
    facility = _facility(facility_id)
    args = load_filters(DaySchema(), request.args, {"day": _l("Day")})
    day = args.get("day") or local_today()
    return render_template(
        "daycare/roster.html",
        roster=ops.roster(facility, day),
        day=day,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        **_common(facility),
    )


def _day_of(form) -> object:
    data, errors = load_form(DaySchema(), form)
    return None if errors else data.get("day")


@bp.route("/check-in", methods=["POST"])
@person_by_card_limit
@roles_required(*ACTORS)
def check_in(facility_id: int):
    facility = _facility(facility_id, act=True)

    def action(data):
        if data.get("person_id"):
            person = _person(facility, data["person_id"])
        else:
            person = person_by_card(data["id_number"], data["name"])
        return ops.check_in(facility, person, data["day"], current_user)

    result = submit_form(CheckInSchema(), action)
    if result.ok:
        flash(_("%(name)s checked in.", name=result.value.person.name), "success")
    return _back(result, facility, _day_of(request.form))


@bp.route("/attendance/<int:attendance_id>/check-out", methods=["POST"])
@roles_required(*ACTORS)
def check_out(facility_id: int, attendance_id: int):
    facility = _facility(facility_id, act=True)
    attendance = _of(Attendance, attendance_id, facility)
    result = submit_form(DaySchema(), lambda d: ops.check_out(attendance, current_user))
    return _back(result, facility, attendance.day)


@bp.route("/attendance/<int:attendance_id>/cancel", methods=["POST"])
@roles_required(*ACTORS)
def cancel_check_in(facility_id: int, attendance_id: int):
    facility = _facility(facility_id, act=True)
    attendance = _of(Attendance, attendance_id, facility)
    day = attendance.day
    result = submit_form(DaySchema(), lambda d: ops.cancel_attendance(attendance, current_user))
    if result.ok:
        flash(_("Check-in undone."), "info")
    return _back(result, facility, day)


@bp.route("/meals", methods=["POST"])
@roles_required(*ACTORS)
def serve_meal(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(
        MealSchema(),
        lambda d: ops.serve_meal(
            facility, _person(facility, d["person_id"]), d["day"], d["meal_type"], current_user
        ),
    )
    return _back(result, facility, _day_of(request.form))


@bp.route("/meals/<int:meal_id>/remove", methods=["POST"])
@roles_required(*ACTORS)
def remove_meal(facility_id: int, meal_id: int):
    facility = _facility(facility_id, act=True)
    meal = _of(Meal, meal_id, facility)
    day = meal.day
    result = submit_form(DaySchema(), lambda d: ops.remove_meal(meal, current_user))
    return _back(result, facility, day)


# --- members --------------------------------------------------------------------------------


def _members_page(facility: Facility, form=None, errors=None, status: int = 200):
    include_left = request.args.get("include_left") == "1"
    return render_template(
        "daycare/members.html",
        members=ops.members_of(facility, include_left),
        include_left=include_left,
        form=form or {"joined_on": local_today().isoformat(), "days": ["0", "1", "2", "3", "4"]},
        errors=errors or {},
        **_common(facility),
    ), status


@bp.route("/members")
@roles_required(*VIEWERS)
def members(facility_id: int):
    return _members_page(_facility(facility_id))


@bp.route("/members", methods=["POST"])
@person_by_card_limit
@roles_required(*ACTORS)
def add_member(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(
        NewMemberSchema(),
        lambda d: ops.add_member(
            facility, person_by_card(d["id_number"], d["name"]), d, current_user
        ),
    )
    if not result.ok:
        return _members_page(facility, request.form, result.errors, result.status)
    flash(_("%(name)s is now a member.", name=result.value.person.name), "success")
    return redirect(url_for("daycare.members", facility_id=facility.id))


@bp.route("/members/<int:member_id>", methods=["GET", "POST"])
@roles_required(*VIEWERS)
def member(facility_id: int, member_id: int):
    facility = _facility(facility_id, act=request.method == "POST")
    found = _of(Member, member_id, facility)
    errors, status = {}, 200
    if request.method == "POST":
        result = submit_form(MemberSchema(), lambda d: ops.update_member(found, d, current_user))
        if result.ok:
            flash(_("Saved."), "success")
            return redirect(url_for("daycare.members", facility_id=facility.id))
        ops.reloaded(found)
        errors, status = result.errors, result.status
    return render_template(
        "daycare/member.html",
        member=found,
        form=request.form if request.method == "POST" else None,
        errors=errors,
        **_common(facility),
    ), status


@bp.route("/members/<int:member_id>/leave", methods=["POST"])
@roles_required(*ACTORS)
def end_membership(facility_id: int, member_id: int):
    facility = _facility(facility_id, act=True)
    found = _of(Member, member_id, facility)
    result = submit_form(
        LeaveSchema(), lambda d: ops.end_membership(found, d["left_on"], current_user)
    )
    if result.ok:
        flash(_("%(name)s has left the center.", name=found.person.name), "success")
    return _back(result, facility, endpoint="daycare.members")


# --- activities and incidents ---------------------------------------------------------------


def _activities_page(facility: Facility, form=None, errors=None, status: int = 200):
    today = local_today()
    start = today - timedelta(days=30)
    return render_template(
        "daycare/activities.html",
        activities=ops.activities_of(facility, start, today + timedelta(days=1)),
        attendees=ops.roster(facility, today).rows,
        categories=CATEGORY_LABELS,
        form=form or {},
        errors=errors or {},
        **_common(facility),
    ), status


@bp.route("/activities")
@roles_required(*VIEWERS)
def activities(facility_id: int):
    return _activities_page(_facility(facility_id))


@bp.route("/activities", methods=["POST"])
@roles_required(*ACTORS)
def add_activity(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(
        ActivitySchema(),
        lambda d: ops.add_activity(
            facility,
            d,
            [
                _person(facility, pid, "participant_ids")
                for pid in dict.fromkeys(d["participant_ids"])
            ],
            current_user,
        ),
    )
    if not result.ok:
        return _activities_page(facility, request.form, result.errors, result.status)
    flash(_("Activity recorded."), "success")
    return redirect(url_for("daycare.activities", facility_id=facility.id))


def _incidents_page(facility: Facility, form=None, errors=None, status: int = 200):
    return render_template(
        "daycare/incidents.html",
        incidents=ops.incidents_of(facility),
        members=ops.members_of(facility),
        risks=RISKS,
        severities=SEVERITY_LABELS,
        form=form or {},
        errors=errors or {},
        **_common(facility),
    ), status


@bp.route("/incidents")
@roles_required(*VIEWERS)
def incidents(facility_id: int):
    return _incidents_page(_facility(facility_id))


@bp.route("/incidents", methods=["POST"])
@roles_required(*ACTORS)
def report_incident(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(
        IncidentSchema(),
        lambda d: ops.report_incident(
            facility,
            d,
            _person(facility, d["person_id"]) if d.get("person_id") else None,
            current_user,
        ),
    )
    if not result.ok:
        return _incidents_page(facility, request.form, result.errors, result.status)
    flash(_("Incident recorded."), "success")
    return redirect(url_for("daycare.incidents", facility_id=facility.id))


@bp.route("/incidents/<int:incident_id>/close", methods=["POST"])
@roles_required(*ACTORS)
def close_incident(facility_id: int, incident_id: int):
    facility = _facility(facility_id, act=True)
    incident = _of(Incident, incident_id, facility)
    result = submit_form(
        CloseIncidentSchema(),
        lambda d: ops.close_incident(incident, d["resolution"], current_user),
    )
    if result.ok:
        flash(_("Incident closed."), "success")
    return _back(result, facility, endpoint="daycare.incidents")


# --- settings and closed days ---------------------------------------------------------------


def _settings_page(facility: Facility, form=None, errors=None, status: int = 200):
    today = local_today()
    return render_template(
        "daycare/settings.html",
        closed=ops.recent_closed_days(facility, today),
        form=form,
        errors=errors or {},
        **_common(facility),
    ), status


@bp.route("/settings")
@roles_required(*VIEWERS)
def settings(facility_id: int):
    return _settings_page(_facility(facility_id))


@bp.route("/settings", methods=["POST"])
@roles_required(*ACTORS)
def save_settings(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(CenterSchema(), lambda d: ops.save_center(facility, d, current_user))
    if not result.ok:
        return _settings_page(facility, request.form, result.errors, result.status)
    flash(_("Saved."), "success")
    return redirect(url_for("daycare.settings", facility_id=facility.id))


@bp.route("/closed-days", methods=["POST"])
@roles_required(*ACTORS)
def add_closed_day(facility_id: int):
    facility = _facility(facility_id, act=True)
    result = submit_form(
        ClosedDaySchema(),
        lambda d: ops.add_closed_day(facility, d["day"], d["reason"], current_user),
    )
    return _back(result, facility, endpoint="daycare.settings")


@bp.route("/closed-days/<int:closed_id>/remove", methods=["POST"])
@roles_required(*ACTORS)
def remove_closed_day(facility_id: int, closed_id: int):
    facility = _facility(facility_id, act=True)
    closed = _of(ClosedDay, closed_id, facility)
    result = submit_form(DaySchema(), lambda d: ops.remove_closed_day(closed, current_user))
    return _back(result, facility, endpoint="daycare.settings")
