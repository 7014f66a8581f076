"""Authorization matrix entries for accounts, tokens and user administration."""

import itertools

from eldercare.auth.models import ApiToken
from eldercare.core.crypto import token_digest
from eldercare.extensions import db
from tests.authz.matrix import ALL, Route


def own_token(world, user):
    """In scope: a token of the acting user; out of scope: a token of someone else."""
    other = world.user("admin") if user.role != "admin" else world.user("family")
    ids = []
    for owner in (user, other):
        secret = f"x{owner.id}-{user.id}-{next(_n)}"
        token = ApiToken(user_id=owner.id, name="t", token_digest=token_digest(secret), hint="ec_x")
        db.session.add(token)
        db.session.flush()
        ids.append(token.id)
    return ids[0], ids[1]


def some_user(world, user):
    return world.user("visitor").id, None


def user_form(world, user):
    return {
        "display_name": "探访员",
        "role": "visitor",
        "region_id": world.village_a.id,
        "active": "1",
    }


_n = itertools.count(1)


def new_user_form(world, user):
    return {
        "username": f"newuser{next(_n)}",
        "display_name": "新用户",
        "role": "family",
        "password": "Password-2026",
    }


ROUTES = [
    Route("auth.change_password", allowed=ALL),
    Route(
        "auth.change_password",
        "POST",
        allowed=ALL,
        ok=(422,),
        data=lambda w, u: {
            "current_password": "wrong",
            "new_password": "New-password-1",
            "confirm_password": "New-password-1",
        },
    ),
    Route("auth.tokens", allowed=ALL),
    Route(
        "auth.tokens",
        "POST",
        allowed=ALL,
        data=lambda w, u: {"name": "集成", "expires_in_days": "30"},
    ),
    Route("auth.revoke_token", "POST", allowed=ALL, target=own_token, arg="token_id", ok=(302,)),
    Route("auth.users", allowed=frozenset({"admin"})),
    Route("auth.user_new", allowed=frozenset({"admin"})),
    Route("auth.user_new", "POST", allowed=frozenset({"admin"}), data=new_user_form, ok=(302,)),
    Route("auth.user_edit", allowed=frozenset({"admin"}), target=some_user, arg="user_id"),
    Route(
        "auth.user_edit",
        "POST",
        allowed=frozenset({"admin"}),
        target=some_user,
        arg="user_id",
        data=user_form,
        ok=(302,),
    ),
    Route(
        "auth.user_end_sessions",
        "POST",
        allowed=frozenset({"admin"}),
        target=some_user,
        arg="user_id",
        ok=(302,),
    ),
    Route(
        "auth.user_unlock",
        "POST",
        allowed=frozenset({"admin"}),
        target=some_user,
        arg="user_id",
        ok=(302,),
    ),
    # API
    Route("api_auth.me", allowed=ALL, api=True),
    Route("api_auth.list_tokens", allowed=ALL, api=True),
    Route(
        "api_auth.create_token",
        "POST",
        allowed=ALL,
        api=True,
        ok=(201,),
        data=lambda w, u: {"name": "集成", "expires_in_days": 30},
    ),
    Route(
        "api_auth.revoke_token",
        "DELETE",
        allowed=ALL,
        api=True,
        target=own_token,
        arg="token_id",
        ok=(204,),
    ),
]
