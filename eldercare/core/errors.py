"""One error shape for the API ({code, message, errors}) and friendly pages for people."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from eldercare.core.i18n import as_messages, plain_messages

CODES = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Please sign in first.")),
    403: ("forbidden", _l("You do not have permission to do this.")),
    404: ("not_found", _l("The page or record was not found.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("This conflicts with the current data.")),
    413: ("too_large", _l("The upload is too large.")),
    415: ("unsupported_media_type", _l("This content type is not supported.")),
    422: ("invalid_input", _l("Some of the input is not valid.")),
    429: ("rate_limited", _l("Too many attempts; please wait and try again.")),
    500: ("server_error", _l("Something went wrong on our side; it has been logged.")),
}


class AppError(HTTPException):
    """An error raised by an operation, with a translated message and field errors."""

    def __init__(self, status: int, message=None, errors: dict | None = None, audit=None):
        super().__init__(description=str(message) if message is not None else None)
        self.code = status
        self.message = message
        self.errors = {key: as_messages(value) for key, value in (errors or {}).items()}
        # Keyword arguments of an audit entry that records the refusal itself (kept although
        # the refused change is rolled back).
        self.audit = audit


class Conflict(AppError):
    def __init__(self, message=None, errors=None, audit=None):
        super().__init__(409, message, errors, audit)


def keep_refusal_on_record(error: Exception) -> None:
    """Roll back what the refused request did, then commit the refusal's own audit entry."""
    entry = getattr(error, "audit", None)
    if not entry:
        return
    from eldercare.core import audit
    from eldercare.extensions import db

    db.session.rollback()
    audit.record(**entry)
    db.session.commit()


class Invalid(AppError):
    def __init__(self, message=None, errors=None):
        super().__init__(422, message, errors)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


# webargs' own messages (plain English strings, not marshmallow's): translated here.
WEBARGS_MESSAGES = {"Invalid JSON body.": _l("The request body is not valid JSON.")}


def _flatten_webargs(messages: dict) -> dict:
    """webargs nests errors by location ({"json": {...}}); the API shows fields only."""
    out: dict = {}
    for location, errs in messages.items():
        if isinstance(errs, dict):
            out.update(errs)
        else:
            out[location] = [
                WEBARGS_MESSAGES.get(m, m) if isinstance(m, str) else m
                for m in (errs if isinstance(errs, list) else [errs])
            ]
    return out


def error_body(status: int, message=None, errors: dict | None = None) -> dict:
    code, default = CODES.get(status, ("error", _l("Error")))
    return {
        "code": code,
        "message": str(message) if message else str(default),
        "errors": plain_messages(errors or {}),
    }


def handle_http_exception(error: HTTPException):
    keep_refusal_on_record(error)
    status = error.code or 500
    message = getattr(error, "message", None)
    errors = getattr(error, "errors", None)
    data = getattr(error, "data", None)  # set by webargs/flask-smorest abort()
    if isinstance(data, dict):
        if "messages" in data:
            errors = _flatten_webargs(data["messages"])
        message = data.get("message", message)
    if isinstance(error, CSRFError):
        message = _("The form has expired or was sent from elsewhere. Please reload and try again.")
    if status == 429:
        message = _("Too many attempts; please wait and try again.")
    if wants_json():
        response = jsonify(error_body(status, message, errors))
        response.status_code = status
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
    body = error_body(status, message, errors)
    return render_template("errors/error.html", status=status, error=body), status


#: Database constraints whose violation has a better explanation than "conflict": features
#: register theirs (a race that slips past an operation's own check ends here).
CONSTRAINT_MESSAGES: dict[str, object] = {}


def conflict_for(error: IntegrityError) -> AppError:
    """The 409 for a violated constraint, worded for the constraint when it is known."""
    text = str(getattr(error, "orig", error))
    for name, message in CONSTRAINT_MESSAGES.items():
        if name in text:
            return AppError(409, message)
    return AppError(409, _("This record conflicts with existing data."))


def handle_integrity_error(error: IntegrityError):
    from eldercare.extensions import db

    db.session.rollback()
    return handle_http_exception(conflict_for(error))


def handle_server_error(error: Exception):
    from eldercare.extensions import db

    db.session.rollback()
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    return handle_http_exception(AppError(500))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(500, handle_server_error)
