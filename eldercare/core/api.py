"""Helpers for the JSON API: authentication per route and the shared error responses."""

from __future__ import annotations

import json
from functools import wraps
from http import HTTPStatus

from flask_login import current_user
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields

from eldercare.core.errors import AppError, handle_http_exception
from eldercare.core.permissions import Role, role_of


class ApiError(Schema):
    """The one error shape of the API."""

    code = fields.String(required=True, metadata={"example": "invalid_input"})
    message = fields.String(required=True, metadata={"example": "部分输入无效。"})
    errors = fields.Dict(metadata={"description": "Field name to a list of messages."})


class EldercareApi(Api):
    """flask-smorest Api documenting and answering errors in the shape above."""

    ERROR_SCHEMA = ApiError

    def handle_http_exception(self, error):
        return handle_http_exception(error)


def api_blueprint(name: str, description: str) -> Blueprint:
    """A flask-smorest blueprint named ``api_<name>`` served under ``/api/v1/<name>``."""
    return Blueprint(
        f"api_{name}",
        f"eldercare.api.{name}",
        url_prefix=f"/api/v1/{name}",
        description=description,
    )


def api_roles(*roles: Role):
    """401 without a user, 403 for a role not listed; documents both in OpenAPI."""
    allowed = frozenset(Role(r) for r in roles) if roles else frozenset(Role)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                raise AppError(401)
            # imported here: the extensions module builds this module's Api first
            from eldercare.core.transaction import commit_noted_access

            commit_noted_access()
            if role_of(current_user) not in allowed:
                raise AppError(403)
            return view(*args, **kwargs)

        doc = getattr(wrapper, "_apidoc", {})
        doc.setdefault("manual_doc", {}).setdefault(
            "security", [{"bearerAuth": []}, {"sessionCookie": []}]
        )
        wrapper._apidoc = doc
        wrapper.allowed_roles = allowed
        return wrapper

    return decorator


def document_errors(blp: Blueprint, *statuses: int):
    """Declare the error responses a route can give, all in the shared error shape."""

    def decorator(view):
        for status in statuses:
            view = blp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorator


def paged(stmt, args: dict):
    """One page of a SELECT, and an ``X-Pagination`` header with the totals for clients."""
    from eldercare.extensions import db

    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    info = {
        "total": page.total,
        "total_pages": page.pages,
        "page": page.page,
        "per_page": page.per_page,
    }
    if page.has_prev:
        info["previous_page"] = page.prev_num
    if page.has_next:
        info["next_page"] = page.next_num
    return page.items, {"X-Pagination": json.dumps(info)}
