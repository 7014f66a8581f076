"""The public notice (公示) of rating results, open to anyone without signing in: the results
in notice today (facility, proposed grade, scores by section, the notice period, the issuing
office and supervision phone), each printable with room for the seal, and a form to lodge an
objection that county staff then answer on the application's page. It shows nothing that
the printed notice would not."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from eldercare.core.db import MAX_ID, local_today
from eldercare.core.forms import submit_form
from eldercare.core.schemas import load_form
from eldercare.extensions import limiter
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Application
from eldercare.ratings.schemas import NoticeQuery, PublicObjectionSchema

bp = Blueprint("ratings_public", __name__, url_prefix="/public/ratings")


def _objection_limit() -> str:
    return current_app.config.get("RATING_OBJECTION_RATE_LIMIT", "5 per hour;20 per day")


bp.add_app_template_global(ops.notice_of_facility, "rating_notice_of")
bp.add_app_template_global(ops.notice_starts, "rating_notice_starts")


@bp.route("/notices")
def notices():
    args, errors = load_form(NoticeQuery(), request.args)
    county = None
    if not errors and args.get("county_id"):
        county = ops.county_by_id(args["county_id"])
        if county is None:
            abort(404)
    found = ops.public_notices(county=county)
    return render_template(
        "ratings/public_notices.html",
        notices=found,
        county=county,
        today=local_today(),
    )


def _in_notice(application_id: int) -> Application:
    """A result in its public notice today; anything else is not found (nothing is said of
    applications that are not public)."""
    if application_id > MAX_ID:
        abort(404)
    found = ops.in_notice(application_id)
    if found is None:
        abort(404)
    return found


def _notice_page(found: Application, form=None, errors=None, status: int = 200):
    return render_template(
        "ratings/public_notice.html",
        app_=found,
        sections=found.round.scheme.sections,
        starts=ops.notice_starts(found),
        today=local_today(),
        form=form or {},
        errors=errors or {},
    ), status


@bp.route("/notices/<int:application_id>")
def notice(application_id: int):
    return _notice_page(_in_notice(application_id))


@bp.route("/notices/<int:application_id>/objections", methods=["POST"])
@limiter.limit(_objection_limit, methods=["POST"])
def lodge_objection(application_id: int):
    found = _in_notice(application_id)
    result = submit_form(PublicObjectionSchema(), lambda d: ops.lodge_objection(found, d))
    if not result.ok:
        return _notice_page(found, request.form, result.errors, result.status)
    flash(
        _(
            "Your objection is received. The county's civil-affairs bureau will look into it"
            " and may call you back on the number you gave."
        ),
        "success",
    )
    return redirect(url_for("ratings_public.notice", application_id=found.id, _anchor="lodged"))
