"""The home page (one per role) and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from eldercare.core.navigation import safe_next
from eldercare.extensions import db
from eldercare.home.operations import summary_for
from eldercare.people.schemas import RELATION_LABELS

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    return render_template(
        "home/index.html", summary=summary_for(current_user), relation_labels=RELATION_LABELS
    )


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language; remembered in the session and on the account."""
    code = request.form.get("code", "")
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated and current_user.locale != code:
            current_user.locale = code
            db.session.commit()
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
    from sqlalchemy import text

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
