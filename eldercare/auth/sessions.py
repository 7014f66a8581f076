"""Sign-ins kept on the server (``UserSession``): starting one at sign-in, finding the one a
request's cookie names, and ending one or all of an account's. Signing out ends the sign-in,
so a copied session cookie or "stay signed in" cookie no longer signs anyone in."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from eldercare.auth.models import ApiToken, SessionEnd, User, UserSession
from eldercare.core.crypto import token_digest
from eldercare.core.db import utcnow
from eldercare.extensions import db


def lifetime(remember: bool) -> timedelta:
    """How long a sign-in lasts at most: the "stay signed in" cookie's days, or a working
    day's hours (``SIGN_IN_HOURS``) for a browser session."""
    if remember:
        return current_app.config["REMEMBER_COOKIE_DURATION"]
    return timedelta(hours=int(current_app.config.get("SIGN_IN_HOURS", 12)))


def start(user: User, remember: bool = False) -> str:
    """Record a sign-in of ``user`` and make it the user's current one; returns the id
    Flask-Login keeps (``user.get_id()``)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    ip = agent = None
    if has_request_context():
        ip = (request.remote_addr or "")[:45] or None
        agent = (request.user_agent.string or "")[:200] or None
    db.session.add(
        UserSession(
            user_id=user.id,
            key_digest=token_digest(key),
            remember=remember,
            created_at=now,
            expires_at=now + lifetime(remember),
            ip=ip,
            user_agent=agent,
        )
    )
    db.session.flush()
    user.session_key = key
    return user.get_id()


def load(user_id: str) -> User | None:
    """The user of an open sign-in named by a cookie's ``"<account>:<key>"``, or None."""
    ident, _, key = user_id.partition(":")
    if not ident.isdigit() or not key:
        return None
    found = db.session.execute(
        sa.select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.key_digest == token_digest(key))
    ).first()
    if found is None:
        return None
    sign_in, user = found
    if sign_in.user_id != int(ident) or not sign_in.is_open() or not user.is_active:
        return None
    user.session_key = key
    return user


def _open(user_id: int):
    return sa.update(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None)
    )


def end(user: User, reason: SessionEnd = SessionEnd.SIGNED_OUT) -> None:
    """End the sign-in this request runs under."""
    if not user.session_key:
        return
    db.session.execute(
        _open(user.id)
        .where(UserSession.key_digest == token_digest(user.session_key))
        .values(ended_at=utcnow(), end_reason=reason.value)
    )


def end_all(user: User, reason: SessionEnd, keep_current: bool = False) -> int:
    """End every open sign-in of ``user`` (but the current one if ``keep_current``); returns
    how many were ended."""
    stmt = _open(user.id).values(ended_at=utcnow(), end_reason=reason.value)
    if keep_current and user.session_key:
        stmt = stmt.where(UserSession.key_digest != token_digest(user.session_key))
    return db.session.execute(stmt).rowcount


def revoke_tokens(user: User) -> int:
    """Revoke every API token of ``user`` still usable; returns how many."""
    return db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount


def open_sessions(user: User) -> list[UserSession]:
    now = utcnow()
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.expires_at > now,
            )
            .order_by(UserSession.created_at.desc())
        )
    )
