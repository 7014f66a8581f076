"""API: who am I, and my personal API tokens."""

from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.auth import operations as ops
from eldercare.auth.models import ApiToken
from eldercare.auth.schemas import TokenCreatedOut, TokenCreateSchema, TokenOut, UserOut
from eldercare.core.api import api_blueprint, api_roles, document_errors
from eldercare.core.errors import AppError
from eldercare.core.permissions import get_visible_or_404
from eldercare.core.transaction import transactional

blp = api_blueprint("auth", "The signed-in account and its API tokens")


@blp.route("/me")
@api_roles()
@document_errors(blp, 401)
@blp.response(200, UserOut)
def me():
    """The account making the request."""
    return current_user


@blp.route("/tokens")
@api_roles()
@document_errors(blp, 401)
@blp.response(200, TokenOut(many=True))
def list_tokens():
    """My API tokens (secrets are never shown again)."""
    return ops.tokens_of(current_user)


@blp.route("/tokens", methods=["POST"])
@api_roles()
@document_errors(blp, 401, 403, 422)
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenCreatedOut)
@transactional
def create_token(data):
    """Create a token; the response holds the secret, once. A token cannot mint tokens."""
    if g.get("token_auth"):
        raise AppError(403, _l("Only a signed-in person can create API tokens, not a token."))
    token, secret = ops.create_token(current_user, data["name"], data["expires_in_days"])
    token.token = secret
    return token


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@api_roles()
@document_errors(blp, 401, 404)
@blp.response(204)
@transactional
def revoke_token(token_id: int):
    """Revoke one of my tokens."""
    token = get_visible_or_404(ApiToken, token_id)
    if token.user_id != current_user.id:
        raise AppError(404)
    ops.revoke_token(token, current_user)
