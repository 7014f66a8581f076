"""The home page (one per role) and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from eldercare.core.forms import submit_form
from eldercare.core.navigation import safe_next
from eldercare.core.schemas import InputSchema
from eldercare.home import operations as ops
from eldercare.people import queries
from eldercare.people.schemas import LINK_BADGES, RELATION_LABELS

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    return render_template(
        "home/index.html",
        summary=ops.summary_for(current_user),
        relation_labels=RELATION_LABELS,
        link_badges=LINK_BADGES,
        link_actions=lambda link: queries.link_actions(current_user, link),
    )


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language; remembered in the session and on the account."""
    code = request.form.get("code", "")
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        # Nothing of the form to validate (the code is checked above): commit the change.
        submit_form(InputSchema(), lambda d: ops.remember_locale(current_user, code), MultiDict())
    return redirect(_opens_with_get(safe_next(request.form.get("next"))))


def _opens_with_get(target: str) -> str:
    """``target`` if a GET can open it, else the home page: a form's action (a refused
    POST's URL) answers a GET with 405."""
    try:
        current_app.url_map.bind(request.host).match(urlsplit(target).path, method="GET")
    except MethodNotAllowed:
        return url_for("home.index")
    except HTTPException:  # a redirect (trailing slash) or a 404 shows itself
        return target
    return target


@bp.route("/healthz")
def healthz():
    ops.database_answers()
    return {"status": "ok"}
