"""What can be done with accounts: sign in, change passwords, manage users and tokens."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from eldercare.auth import sessions
from eldercare.auth.models import ApiToken, SessionEnd, User
from eldercare.auth.passwords import burn_time, hash_password, needs_rehash, verify_password
from eldercare.core import audit
from eldercare.core.crypto import token_digest
from eldercare.core.db import utcnow
from eldercare.core.errors import CONSTRAINT_MESSAGES, AppError, Conflict, Invalid
from eldercare.core.permissions import FACILITY_ROLES, REGION_ROLES, Role, role_of, visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.models import Region

TOKEN_PREFIX = "ec_"  # noqa: S105 - a public prefix, not a secret

#: Why a self-registration is refused when its phone or e-mail names an existing account.
REGISTER_IN_USE = {
    "phone": _l("This mobile number is already registered. Sign in, or use another number."),
    "email": _l("This e-mail address is already registered. Sign in, or use another address."),
}
# A race past the checks ends at the unique constraints (PostgreSQL names the constraint,
# SQLite the column); worded for any form that saves an account.
for _field, _message in (
    ("phone", _l("This mobile number is already used by another account.")),
    ("email", _l("This e-mail address is already used by another account.")),
    ("username", _l("This user name is already used by another account.")),
):
    CONSTRAINT_MESSAGES[f"uq_user_account_{_field}"] = _message
    CONSTRAINT_MESSAGES[f"user_account.{_field}"] = _message


class LoginRefused(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _signs_in_with(login: str) -> sa.ColumnElement[bool]:
    """Accounts that ``login`` names: as user name or e-mail (any case), or as phone."""
    return sa.or_(
        sa.func.lower(User.username) == login.lower(),
        sa.func.lower(User.email) == login.lower(),
        User.phone == login,
    )


def find_login(login: str) -> User | None:
    return db.session.scalar(sa.select(User).where(_signs_in_with(login.strip())))


def _update_user(user: User, *where, **values) -> sa.Row | None:
    """One UPDATE of the account's row in the database (not of the object read before, which
    parallel sign-ins may have changed meanwhile), RETURNING its counter; the object's copies
    of the columns are read again on their next use."""
    row = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, *where)
        .values(**values)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.expire(user, ["failed_logins", "locked_until", "last_login_at"])
    return row


def _count_failure(user: User, now) -> None:
    """Counted in the database, one failure at a time (the row's lock orders parallel
    guesses): the guess that brings the count to LOGIN_MAX_FAILURES locks the account, however
    many arrive at once."""
    cfg = current_app.config
    (count,) = _update_user(user, failed_logins=User.failed_logins + 1)
    if count >= cfg["LOGIN_MAX_FAILURES"]:
        _update_user(
            user,
            locked_until=now + timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]),
            failed_logins=0,
        )
        audit.record("auth.locked", user, actor=user)


def _signed_in_unless_locked(user: User, now) -> bool:
    """Clear the failures and record the sign-in, only if the row is not locked now (a lock
    written by parallel guesses after this request read the account counts)."""
    row = _update_user(
        user,
        sa.or_(User.locked_until.is_(None), User.locked_until <= now),
        failed_logins=0,
        locked_until=None,
        last_login_at=now,
    )
    return row is not None


def authenticate(login: str, password: str) -> User:
    """Check a sign-in; counts failures and locks the account after too many."""
    user = find_login(login)
    if user is None:
        burn_time(password)
        raise LoginRefused(_l("Wrong user name or password."))
    now = utcnow()
    password_ok = verify_password(user.password_hash, password)
    if user.is_locked(now):
        # Only who knows the password learns of the lock; to anyone else a locked account
        # answers like a wrong password, or locking would tell which user names exist.
        if not password_ok:
            raise LoginRefused(_l("Wrong user name or password."))
        raise LoginRefused(
            _l("Too many failed sign-ins: this account is locked for a while. Try again later.")
        )
    if not password_ok:
        _count_failure(user, now)
        raise LoginRefused(_l("Wrong user name or password."))
    if not user.is_active:
        raise LoginRefused(_l("This account is disabled."))
    if not _signed_in_unless_locked(user, now):
        # Locked by guesses that came in at the same time as this sign-in, after it read the
        # account: the lock holds for the right password too.
        raise LoginRefused(
            _l("Too many failed sign-ins: this account is locked for a while. Try again later.")
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record("auth.login", user, actor=user)
    return user


def sign_in(data: dict) -> tuple[User, bool] | LoginRefused:
    """The sign-in form's action: the user and whether to remember them, or the refusal.
    A refusal is returned rather than raised, so that the failure count and any lockout it
    wrote are committed with the form, not rolled back as a refused operation's writes are."""
    try:
        user = authenticate(data["username"], data["password"])
    except LoginRefused as refused:
        return refused
    remember = bool(data.get("remember", False))
    sessions.start(user, remember)
    return user, remember


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise Invalid(errors={"current_password": [_l("The current password is wrong.")]})
    user.password_hash = hash_password(new)
    # Whoever knew the old password is signed out everywhere else, and its tokens stop.
    ended = sessions.end_all(user, SessionEnd.PASSWORD_CHANGED, keep_current=True)
    revoked = sessions.revoke_tokens(user)
    audit.record(
        "auth.password_changed",
        user,
        actor=user,
        changes={"sessions_ended": [None, ended], "tokens_revoked": [None, revoked]},
    )
    return revoked


def _check_scope_target(data: dict) -> None:
    role = Role(data["role"])
    if role in REGION_ROLES:
        region = db.session.get(Region, data["region_id"])
        if region is None:
            raise Invalid(errors={"region_id": [_l("No such region.")]})
        expected = {
            Role.COUNTY_STAFF: ("county",),
            Role.TOWNSHIP_STAFF: ("township",),
            Role.VISITOR: ("township", "village"),
            Role.ASSESSOR: ("county",),
        }[role]
        if region.level not in expected:
            raise Invalid(errors={"region_id": [_l("This role needs a region of another level.")]})
        if not region.is_active:
            # An abolished region keeps its row for old records; nobody works in it any more.
            raise Invalid(errors={"region_id": [_l("This region has been abolished.")]})
        data["facility_id"] = None
    elif role in FACILITY_ROLES:
        if db.session.get(Facility, data["facility_id"]) is None:
            raise Invalid(errors={"facility_id": [_l("No such facility.")]})
        data["region_id"] = None
    else:
        # Administrators see everything and family members their relatives: no place binds
        # them (a region would confine an admin on some pages only).
        data["region_id"] = None
        data["facility_id"] = None


def _check_unique(data: dict, exclude_id: int | None = None, messages: dict | None = None) -> None:
    """User name, e-mail and phone all sign in, so none may name another account in any of
    the three (a user name "13800000000" must not be someone else's phone)."""
    for field in ("username", "email", "phone"):
        value = data.get(field)
        if not value:
            continue
        stmt = sa.select(User.id).where(_signs_in_with(value))
        if exclude_id is not None:
            stmt = stmt.where(User.id != exclude_id)
        if db.session.scalar(stmt) is not None:
            message = (messages or {}).get(field, _l("Already used by another account."))
            raise Conflict(errors={field: [message]})


def _free_username(data: dict) -> str:
    """A user name for a self-registered account: the e-mail address's local part, or
    "family" and the phone's last four digits (the whole number would show unmasked in
    user lists and the audit log), with digits added while another account signs in so."""
    if data.get("phone"):
        base = f"family{data['phone'][-4:]}"
    else:
        base = re.sub(r"[^A-Za-z0-9_.+-]", "", data["email"].split("@")[0])
        base = (base if len(base) >= 3 else f"family{base}")[:70]
    candidate = base
    while db.session.scalar(sa.select(User.id).where(_signs_in_with(candidate))) is not None:
        candidate = f"{base}{secrets.randbelow(1_000_000):06d}"
    return candidate


def user_snapshot(user: User) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "region_id": user.region_id,
        "facility_id": user.facility_id,
        "active": user.active,
        "email": bool(user.email) and "***",
        "phone": bool(user.phone) and "***",
    }


def create_user(data: dict, by: User | None) -> User:
    data = dict(data)
    _check_scope_target(data)
    _check_unique(data)
    user = User(
        username=data["username"],
        display_name=data["display_name"],
        email=data.get("email"),
        phone=data.get("phone"),
        role=data["role"],
        region_id=data.get("region_id"),
        facility_id=data.get("facility_id"),
        password_hash=hash_password(data["password"]),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.created", user, actor=by, changes=audit.changes_between({}, user_snapshot(user))
    )
    return user


def register_family(data: dict) -> User:
    """A family member signs up: the account sees nothing until staff verify a link."""
    _check_unique(data, messages=REGISTER_IN_USE)
    user = User(
        username=_free_username(data),
        display_name=data["display_name"],
        email=data.get("email"),
        phone=data.get("phone"),
        role=Role.FAMILY.value,
        password_hash=hash_password(data["password"]),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.registered",
        user,
        actor=user,
        changes=audit.changes_between({}, user_snapshot(user)),
    )
    sessions.start(user)  # signing up signs in
    return user


def update_user(user: User, data: dict, by: User) -> User:
    data = dict(data)
    _check_scope_target(data)
    _check_unique(data, exclude_id=user.id)
    if user.id == by.id and (data.get("role") != user.role or not data.get("active", True)):
        raise Invalid(_l("You cannot change your own role or disable your own account."))
    before = user_snapshot(user)
    for field in ("display_name", "email", "phone", "role", "region_id", "facility_id"):
        setattr(user, field, data.get(field))
    user.active = data.get("active", True)
    if data.get("new_password"):
        user.password_hash = hash_password(data["new_password"])
    if (
        (before["active"] and not user.active)
        or data.get("new_password")
        or before["role"] != user.role
    ):
        sessions.end_all(user, SessionEnd.ACCOUNT_CHANGED)
    if data.get("new_password") or (before["active"] and not user.active):
        sessions.revoke_tokens(user)
    changes = audit.changes_between(before, user_snapshot(user))
    if data.get("new_password"):
        changes["password"] = ["***", "*** (reset)"]
    audit.record("user.updated", user, actor=by, changes=changes)
    return user


def unlock_user(user: User, by: User) -> None:
    user.locked_until = None
    user.failed_logins = 0
    audit.record("user.unlocked", user, actor=by)


def create_token(user: User, name: str, expires_in_days: int) -> tuple[ApiToken, str]:
    """Mint a token; the secret is returned once and only its digest is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_digest=token_digest(secret),
        hint=secret[:10],
        expires_at=utcnow() + timedelta(days=expires_in_days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record("token.created", token, actor=user, note=name)
    return token, secret


def revoke_token(token: ApiToken, by: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoked", token, actor=by, note=token.name)


def tokens_of(user: User) -> list[ApiToken]:
    """A user's own tokens, newest first."""
    return list(
        db.session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def search_users(viewer, args: dict) -> sa.Select:
    stmt = visible(User, viewer).order_by(User.username)
    if args.get("q"):
        stmt = stmt.where(
            sa.or_(
                User.username.contains(args["q"], autoescape=True),
                User.display_name.contains(args["q"], autoescape=True),
            )
        )
    if args.get("role"):
        stmt = stmt.where(User.role == args["role"])
    return stmt


def scope_choices() -> tuple[list[Region], list[Facility]]:
    """Regions and facilities a user account can be bound to."""
    regions = db.session.scalars(
        sa.select(Region)
        .where(Region.level.in_(["county", "township", "village"]), Region.abolished_on.is_(None))
        .order_by(Region.code)
    ).all()
    facilities = db.session.scalars(sa.select(Facility).order_by(Facility.name)).all()
    return list(regions), list(facilities)


def end_sessions(user: User, by: User) -> tuple[int, int]:
    """An administrator signs an account out everywhere and stops its API tokens (a lost
    phone, a colleague who left); returns (sign-ins ended, tokens revoked)."""
    if role_of(by) != Role.ADMIN:
        raise AppError(403)
    ended = sessions.end_all(user, SessionEnd.ENDED_BY_ADMIN)
    revoked = sessions.revoke_tokens(user)
    audit.record(
        "user.sessions_ended",
        user,
        actor=by,
        changes={"sessions_ended": [None, ended], "tokens_revoked": [None, revoked]},
    )
    return ended, revoked


def sign_out(user: User) -> None:
    sessions.end(user, SessionEnd.SIGNED_OUT)
    audit.record("auth.logout", user, actor=user)
