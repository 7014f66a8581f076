"""Rating scheme pages: the shipped schemes and a county's copies, copied and edited by
county staff until a round uses them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from eldercare.auth.models import User
from eldercare.core.db import local_today
from eldercare.core.errors import Invalid
from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, role_of, roles_required, visible
from eldercare.dashboard import operations as area
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Application, Item, Objection, Round, Scheme
from eldercare.ratings.schemas import (
    AnswerSchema,
    ApplicationSchema,
    AppointSchema,
    CopySchema,
    DecisionSchema,
    ItemSchema,
    ObjectionSchema,
    RoundSchema,
    ScoresSchema,
)
from eldercare.regions.models import Region

bp = Blueprint("ratings", __name__, url_prefix="/ratings")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
KEEPERS = (Role.ADMIN, Role.COUNTY_STAFF)


@bp.route("/schemes")
@roles_required(*STAFF)
def schemes():
    return render_template("ratings/schemes.html", schemes=ops.schemes_for(current_user))


def _scheme_page(scheme: Scheme, errors=None, failed: int | None = None, status: int = 200):
    return render_template(
        "ratings/scheme.html",
        scheme=scheme,
        can_edit=ops.can_edit(current_user, scheme),
        can_copy=role_of(current_user) in KEEPERS,
        counties=area.county_choices(current_user) if role_of(current_user) == Role.ADMIN else [],
        errors=errors or {},
        failed=failed,
    ), status


@bp.route("/schemes/<int:scheme_id>")
@roles_required(*STAFF)
def scheme(scheme_id: int):
    return _scheme_page(get_visible_or_404(Scheme, scheme_id))


@bp.route("/schemes/<int:scheme_id>/copy", methods=["POST"])
@roles_required(*KEEPERS)
def copy(scheme_id: int):
    original = get_visible_or_404(Scheme, scheme_id)

    def action(data):
        county = None
        if role_of(current_user) == Role.ADMIN:
            county = db.session.get(Region, data["county_id"]) if data.get("county_id") else None
            if county is None or county.level != "county":
                abort(422)
        return ops.copy_scheme(original, current_user, county)

    result = submit_form(CopySchema(), action)
    if not result.ok:
        return _scheme_page(original, result.errors, status=result.status)
    flash(
        _("Copied as version %(version)s for your county.", version=result.value.version), "success"
    )
    return redirect(url_for("ratings.scheme", scheme_id=result.value.id))


@bp.route("/schemes/<int:scheme_id>/items/<int:item_id>", methods=["POST"])
@roles_required(*KEEPERS)
def update_item(scheme_id: int, item_id: int):
    found = get_visible_or_404(Scheme, scheme_id)
    item = db.session.get(Item, item_id)
    if item is None or item.section.scheme_id != found.id:
        abort(404)
    result = submit_form(ItemSchema(), lambda d: ops.update_item(item, d, current_user))
    if not result.ok:
        db.session.refresh(found)
        return _scheme_page(found, result.errors, failed=item.id, status=result.status)
    flash(_("Item saved."), "success")
    return redirect(url_for("ratings.scheme", scheme_id=found.id, _anchor=f"item-{item.id}"))


# --- rounds and applications -------------------------------------------------------------------


def _county() -> Region | None:
    region = current_user.region
    while region is not None and region.level != "county":
        region = region.parent
    return region


@bp.route("/rounds")
@roles_required(*STAFF)
def rounds():
    return render_template(
        "ratings/rounds.html",
        rounds=db.session.scalars(
            visible(Round, current_user).order_by(Round.year.desc(), Round.id.desc())
        ).all(),
        schemes=[
            s
            for s in ops.schemes_for(current_user)
            if s.region_id is None or s.region_id == getattr(_county(), "id", None)
        ],
        counties=area.county_choices(current_user),
        can_open=role_of(current_user) in KEEPERS,
        today=local_today(),
    )


@bp.route("/rounds", methods=["POST"])
@roles_required(*KEEPERS)
def open_round():
    def action(data):
        county = _county()
        if role_of(current_user) == Role.ADMIN:
            county = db.session.get(Region, data["county_id"]) if data.get("county_id") else None
        if county is None or county.level != "county":
            raise Invalid(errors={"county_id": [_("Choose a county.")]})
        return ops.open_round(county, data, current_user)

    result = submit_form(RoundSchema(), action)
    if not result.ok:
        result.flash_errors()
        return redirect(url_for("ratings.rounds")), 303
    flash(_("Round opened; its scheme is frozen."), "success")
    return redirect(url_for("ratings.round_page", round_id=result.value.id))


@bp.route("/rounds/<int:round_id>")
@roles_required(*STAFF)
def round_page(round_id: int):
    rnd = get_visible_or_404(Round, round_id)
    return render_template(
        "ratings/round.html",
        rnd=rnd,
        applications=db.session.scalars(
            visible(Application, current_user)
            .where(Application.round_id == rnd.id)
            .options(selectinload(Application.facility), selectinload(Application.assessors))
            .order_by(Application.id)
        ).all(),
        candidates=ops.candidates_for(rnd),
        can_manage=ops.can_manage_round(current_user, rnd),
    )


@bp.route("/rounds/<int:round_id>/applications", methods=["POST"])
@roles_required(*KEEPERS)
def add_application(round_id: int):
    rnd = get_visible_or_404(Round, round_id)

    def action(data):
        facility = db.session.get(Facility, data["facility_id"])
        if facility is None:
            raise Invalid(errors={"facility_id": [_("Choose a facility of the county.")]})
        return ops.add_application(rnd, facility, current_user)

    result = submit_form(ApplicationSchema(), action)
    result.flash_errors()
    return redirect(url_for("ratings.round_page", round_id=rnd.id)), (302 if result.ok else 303)


def _application(application_id: int) -> Application:
    return get_visible_or_404(Application, application_id)


@bp.route("/applications/<int:application_id>")
@roles_required(*STAFF, Role.OPERATOR)
def application(application_id: int):
    found = _application(application_id)
    assessors, rows = ops.compare(found)
    preview = ops.combined(found) if found.status == "assessed" else None
    staff = role_of(current_user) in KEEPERS
    if not ops.may_see_scores(current_user, found):
        # Independent scoring: an assessor sees the others' scores only once their own is in.
        rows = [ops.Comparison(r.item, [], r.self_value, False) for r in rows]
        assessors = []
    return render_template(
        "ratings/application.html",
        app_=found,
        assessors=assessors,
        rows=rows,
        preview=ops.explain(preview) if preview else None,
        result=found.result or None,
        sections={s.code: s.name for s in found.round.scheme.sections},
        objections=db.session.scalars(
            db.select(Objection).where(Objection.application_id == found.id).order_by(Objection.id)
        ).all(),
        staff_choices=ops.staff_of(found.round.region) if staff else [],
        can_manage=ops.can_manage_round(current_user, found.round),
        may_self=ops.may_score(current_user, found, "self"),
        may_assess=ops.may_score(current_user, found, "assessor"),
        today=local_today(),
    )


@bp.route("/applications/<int:application_id>/assessors", methods=["POST"])
@roles_required(*KEEPERS)
def appoint(application_id: int):
    found = _application(application_id)

    def action(data):
        user = db.session.get(User, data["user_id"])
        if user is None:
            raise Invalid(errors={"user_id": [_("Choose a member of the county's staff.")]})
        return ops.appoint_assessor(found, user, current_user)

    result = submit_form(AppointSchema(), action)
    result.flash_errors()
    return redirect(url_for("ratings.application", application_id=found.id)), (
        302 if result.ok else 303
    )


@bp.route("/applications/<int:application_id>/scores/<kind>", methods=["GET", "POST"])
@roles_required(*STAFF, Role.OPERATOR)
def scores(application_id: int, kind: str):
    found = _application(application_id)
    if kind not in ("self", "assessor"):
        abort(404)
    if not ops.may_score(current_user, found, kind):
        abort(403)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        submit = request.form.get("action") == "submit"
        result = submit_form(
            ScoresSchema(),
            lambda d: ops.save_scores(
                found, kind, ops.entries_from_form(request.form, found), current_user, submit
            ),
        )
        if result.ok:
            flash(_("Handed in.") if submit else _("Saved."), "success")
            return redirect(url_for("ratings.application", application_id=found.id))
        errors, status = result.errors, result.status
    return render_template(
        "ratings/scores.html",
        app_=found,
        kind=kind,
        current=ops.current_scores(found, kind, current_user),
        form=request.form if request.method == "POST" else None,
        errors=errors,
    ), status


@bp.route("/applications/<int:application_id>/decision", methods=["POST"])
@roles_required(*KEEPERS)
def decide(application_id: int):
    found = _application(application_id)
    result = submit_form(
        DecisionSchema(),
        lambda d: ops.decide(found, d["decision"] == "approve", d["note"], current_user),
    )
    result.flash_errors()
    return redirect(url_for("ratings.application", application_id=found.id)), (
        302 if result.ok else 303
    )


@bp.route("/applications/<int:application_id>/objections", methods=["POST"])
@roles_required(*KEEPERS)
def objection(application_id: int):
    found = _application(application_id)
    result = submit_form(ObjectionSchema(), lambda d: ops.record_objection(found, d, current_user))
    result.flash_errors()
    return redirect(url_for("ratings.application", application_id=found.id)), (
        302 if result.ok else 303
    )


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@roles_required(*KEEPERS)
def answer_objection(objection_id: int):
    found = db.session.get(Objection, objection_id)
    if found is None:
        abort(404)
    application = _application(found.application_id)
    result = submit_form(
        AnswerSchema(), lambda d: ops.answer_objection(found, d["resolution"], current_user)
    )
    result.flash_errors()
    return redirect(url_for("ratings.application", application_id=application.id)), (
        302 if result.ok else 303
    )


@bp.route("/applications/<int:application_id>/reopen", methods=["POST"])
@roles_required(*KEEPERS)
def reopen(application_id: int):
    found = _application(application_id)
    result = submit_form(AnswerSchema(), lambda d: ops.reopen(found, d["resolution"], current_user))
    if result.ok:
        flash(_("The result is back with the committee."), "info")
    result.flash_errors()
    return redirect(url_for("ratings.application", application_id=found.id)), (
        302 if result.ok else 303
    )


@bp.route("/applications/<int:application_id>/publish", methods=["POST"])
@roles_required(*KEEPERS)
def publish(application_id: int):
    found = _application(application_id)
    result = submit_form(ScoresSchema(), lambda d: ops.publish(found, current_user))
    if result.ok:
        flash(_("Published: the facility's pages show its stars."), "success")
    result.flash_errors()
    return redirect(url_for("ratings.application", application_id=found.id)), (
        302 if result.ok else 303
    )
