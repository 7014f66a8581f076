"""Rating round pages: the rounds and opening one, a round's page with its applications,
the notice details, adding a facility that applied, closing the round; the applications of
an operator's facility or an external assessor's appointments."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.db import local_today
from eldercare.core.errors import Invalid
from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, role_of, roles_required
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Round
from eldercare.ratings.schemas import (
    ApplicationSchema,
    ConfirmSchema,
    NoticeDetailsSchema,
    RoundSchema,
)
from eldercare.ratings.views.common import KEEPERS, STAFF, bp, own_county
from eldercare.regions import areas as area


def _rounds_page(form=None, errors=None, status: int = 200):
    """The rounds and the form to open one (after a refusal: what was typed, with why)."""
    return render_template(
        "ratings/rounds.html",
        rounds=ops.rounds_for(current_user),
        schemes=[
            s
            for s in ops.schemes_for(current_user)
            if s.region_id is None or s.region_id == getattr(own_county(), "id", None)
        ],
        counties=area.county_choices(current_user),
        can_open=role_of(current_user) in KEEPERS,
        today=local_today(),
        form=form or {},
        errors=errors or {},
    ), status


@bp.route("/rounds")
@roles_required(*STAFF)
def rounds():
    return _rounds_page()


@bp.route("/rounds", methods=["POST"])
@roles_required(*KEEPERS)
def open_round():
    def action(data):
        county = own_county()
        if role_of(current_user) == Role.ADMIN:
            county = ops.county_by_id(data.get("county_id"))
        if county is None or county.level != "county":
            raise Invalid(errors={"county_id": [_("Choose a county.")]})
        return ops.open_round(county, data, current_user)

    result = submit_form(RoundSchema(), action)
    if not result.ok:
        return _rounds_page(request.form, result.errors, result.status)
    flash(_("Round opened; its scheme is frozen."), "success")
    return redirect(url_for("ratings.round_page", round_id=result.value.id))


def _round_page(rnd: Round, form=None, errors=None, failed: str = "", status: int = 200):
    """A round's page; after a refused form (``failed`` names it) what was typed, and why."""
    applications = ops.applications_in(rnd, current_user)
    return render_template(
        "ratings/round.html",
        rnd=rnd,
        # A withdrawn application counts nowhere: listed apart, below the others.
        applications=[a for a in applications if not a.is_withdrawn],
        withdrawn=[a for a in applications if a.is_withdrawn],
        candidates=ops.candidates_for(rnd) if rnd.is_open else [],
        can_manage=ops.can_manage_round(current_user, rnd),
        unfinished=ops.unfinished_in(rnd),
        form=form or {},
        errors=errors or {},
        failed=failed,
    ), status


@bp.route("/rounds/<int:round_id>")
@roles_required(*STAFF)
def round_page(round_id: int):
    return _round_page(get_visible_or_404(Round, round_id))


@bp.route("/rounds/<int:round_id>/notice", methods=["POST"])
@roles_required(*KEEPERS)
def notice_details(round_id: int):
    rnd = get_visible_or_404(Round, round_id)
    result = submit_form(
        NoticeDetailsSchema(), lambda d: ops.update_notice_details(rnd, d, current_user)
    )
    if not result.ok:
        return _round_page(rnd, request.form, result.errors, "notice", result.status)
    flash(_("Saved."), "success")
    return redirect(url_for("ratings.round_page", round_id=rnd.id))


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@roles_required(*KEEPERS)
def close_round(round_id: int):
    rnd = get_visible_or_404(Round, round_id)
    result = submit_form(ConfirmSchema(), lambda d: ops.close_round(rnd, current_user))
    if result.ok:
        flash(_("Round closed."), "success")
    result.flash_errors()
    return redirect(url_for("ratings.round_page", round_id=rnd.id)), (302 if result.ok else 303)


@bp.route("/rounds/<int:round_id>/applications", methods=["POST"])
@roles_required(*KEEPERS)
def add_application(round_id: int):
    rnd = get_visible_or_404(Round, round_id)

    def action(data):
        facility = ops.facility_by_id(data["facility_id"])
        if facility is None:
            raise Invalid(errors={"facility_id": [_("Choose a facility of the county.")]})
        return ops.add_application(rnd, facility, current_user)

    result = submit_form(ApplicationSchema(), action)
    if not result.ok:
        return _round_page(rnd, request.form, result.errors, "add", result.status)
    return redirect(url_for("ratings.round_page", round_id=rnd.id))


@bp.route("/mine")
@roles_required(Role.OPERATOR, Role.ASSESSOR)
def my_applications():
    """An operator's applications for its facility; an external assessor's appointments."""
    return render_template(
        "ratings/mine.html",
        applications=ops.applications_for(current_user),
        as_assessor=role_of(current_user) == Role.ASSESSOR,
    )
