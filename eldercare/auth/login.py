"""Flask-Login wiring: session users (with a session version) and bearer-token users."""

from __future__ import annotations

from flask import Flask, g, request
from flask_babel import lazy_gettext as _l

from eldercare.core.crypto import token_digest
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, wants_json
from eldercare.extensions import db, login_manager


def configure_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        """The session and the "stay signed in" cookie both name a sign-in kept on the
        server (``auth.sessions``): once it has ended, neither signs anyone in."""
        from eldercare.auth import sessions

        return sessions.load(user_id)

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import flash, redirect, url_for

        if wants_json():
            raise AppError(401)
        flash(str(login_manager.login_message), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def authenticate_bearer() -> None:
    """If an API request carries ``Authorization: Bearer``, it is the only identity used."""
    header = request.headers.get("Authorization", "")
    # Tokens are for the JSON API only: on the HTML pages they count for nothing, so a leaked
    # token cannot drive the admin pages or skip their CSRF check.
    if not header.lower().startswith("bearer ") or not request.path.startswith("/api/"):
        return
    from eldercare.auth.models import ApiToken

    secret = header[7:].strip()
    token = None
    if secret:
        token = db.session.scalar(
            db.select(ApiToken).where(ApiToken.token_digest == token_digest(secret))
        )
    if token is None or not token.is_usable() or not token.user.is_active:
        raise AppError(401, _l("The API token is invalid, expired or revoked."))
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        g.access_noted = True  # committed by the API's boundary (core.api.api_roles)
    g._login_user = token.user  # Flask-Login's per-request user; the session is ignored
    g.token_auth = True
