"""User accounts bound to a scope, their sign-ins (server sessions) and personal API tokens,
the secrets of both stored as digests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.core.db import TimestampMixin, UTCDateTime, one_of, utcnow
from eldercare.core.permissions import ROLE_LABELS, Role, role_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.models import Region


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(80))
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), index=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    facility_id: Mapped[int | None] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    region: Mapped[Region | None] = relationship()
    facility: Mapped[Facility | None] = relationship(back_populates="operators")

    __table_args__ = (
        one_of("role", Role, "role_known"),
        sa.CheckConstraint(
            "(role IN ('county_staff', 'township_staff', 'visitor', 'assessor')"
            " AND region_id IS NOT NULL"
            " AND facility_id IS NULL)"
            " OR (role = 'operator' AND facility_id IS NOT NULL AND region_id IS NULL)"
            " OR (role IN ('admin', 'family') AND facility_id IS NULL)",
            name="scope_matches_role",
        ),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return bool(self.active)

    #: The key of the sign-in this request runs under (set by ``auth.sessions``; not stored).
    session_key = None  # type: str | None

    def __eq__(self, other) -> bool:
        # Flask-Login's mixin compares get_id(), which names a sign-in: the same account
        # signed in twice is still the same account.
        if not isinstance(other, User):
            return NotImplemented
        return self is other or (self.id is not None and self.id == other.id)

    __hash__ = object.__hash__

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the "stay signed in" cookie: the account
        and the key of a sign-in recorded on the server, which signing out ends."""
        if not self.session_key:
            raise RuntimeError("sign in through eldercare.auth.sessions.start()")
        return f"{self.id}:{self.session_key}"

    @property
    def role_enum(self) -> Role | None:
        return role_of(self)

    @property
    def role_label(self) -> str:
        try:
            return str(ROLE_LABELS[Role(self.role)])
        except ValueError:
            return self.role

    @property
    def scope_label(self) -> str:
        if self.facility is not None:
            return self.facility.name
        if self.region is not None:
            return self.region.full_name
        return ""

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        # Everyone else sees only their own account through user-listing routes.
        return cls.id == user.id

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(TimestampMixin, db.Model):
    """A personal token for integrations; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hint: Mapped[str] = mapped_column(sa.String(12))  # first characters, to tell tokens apart
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    @classmethod
    def __scope__(cls, user):
        if role_of(user) == Role.ADMIN:
            return sa.true()
        return cls.user_id == user.id


class SessionEnd(StrEnum):
    SIGNED_OUT = "signed_out"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a reason, not a password)
    ACCOUNT_CHANGED = "account_changed"  # role changed, deactivated, password reset
    ENDED_BY_ADMIN = "ended_by_admin"


SESSION_END_LABELS = {
    SessionEnd.SIGNED_OUT: "已退出登录",
    SessionEnd.PASSWORD_CHANGED: "密码已修改",
    SessionEnd.ACCOUNT_CHANGED: "账号已变更",
    SessionEnd.ENDED_BY_ADMIN: "管理员结束",
}


class UserSession(db.Model):
    """One sign-in: a browser's session and, if asked, its "stay signed in" cookie both name
    it, and neither signs in once it is ended (by signing out, a password change, a change
    of the account or an administrator) or past its end. Only the key's digest is stored."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    key_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(sa.String(20))

    user: Mapped[User] = relationship()

    __table_args__ = (one_of("end_reason", SessionEnd, "end_reason_known"),)

    def is_open(self, now: datetime | None = None) -> bool:
        return self.ended_at is None and self.expires_at > (now or utcnow())

    @classmethod
    def __scope__(cls, user):
        if role_of(user) == Role.ADMIN:
            return sa.true()
        return cls.user_id == user.id
