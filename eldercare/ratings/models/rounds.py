"""A county's rating rounds, the facilities' applications in them with their appointed
assessors, the objections to a result in public notice, and the grades published."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.db import TimestampMixin, UTCDateTime
from eldercare.core.permissions import STAFF_ROLES, Role, role_of, scope_clause
from eldercare.extensions import db
from eldercare.facilities.models import Facility, OfFacility
from eldercare.ratings.models.schemes import Scheme
from eldercare.regions.models import Region


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ApplicationStatus(StrEnum):
    """applied → self-assessed → assessed → approved (notice) → published, or no grade;
    the committee may return an assessed application to the assessors. Until the committee
    decides, the facility may withdraw (or the county withdraws for it)."""

    APPLIED = "applied"
    SELF_ASSESSED = "self_assessed"
    ASSESSED = "assessed"
    IN_NOTICE = "in_notice"
    PUBLISHED = "published"
    NO_GRADE = "no_grade"
    WITHDRAWN = "withdrawn"


APPLICATION_LABELS = {
    ApplicationStatus.APPLIED: _l("Applied"),
    ApplicationStatus.SELF_ASSESSED: _l("Self-assessment submitted"),
    ApplicationStatus.ASSESSED: _l("Assessed, awaiting the committee"),
    ApplicationStatus.IN_NOTICE: _l("Approved, in public notice"),
    ApplicationStatus.PUBLISHED: _l("Published"),
    ApplicationStatus.NO_GRADE: _l("No grade"),
    ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
}


#: Before the committee's decision: the facility may still withdraw.
UNDECIDED = frozenset(
    {ApplicationStatus.APPLIED, ApplicationStatus.SELF_ASSESSED, ApplicationStatus.ASSESSED}
)


#: Where an application ends: a round whose applications are all here may be closed.
FINISHED = frozenset(
    {ApplicationStatus.PUBLISHED, ApplicationStatus.NO_GRADE, ApplicationStatus.WITHDRAWN}
)


#: A published grade is valid for three years (GB/T 37276).
VALID_YEARS = 3


class CountyRecord:
    """Seen by admins and by staff of the county (township staff included)."""

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role in STAFF_ROLES and user.region is not None:
            return cls.region_id.in_(
                sa.select(Region.id).where(Region.code.startswith(user.region.code[:6]))
            )
        return None


class Round(CountyRecord, TimestampMixin, db.Model):
    """A county's rating round for a year, with one scheme per kind of facility rated."""

    __tablename__ = "rating_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    year: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(120))
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_scheme.id"))
    notice_days: Mapped[int] = mapped_column(default=7)
    #: Printed on the public notice of the round's results: who issues it and the phone
    #: the public calls to report a concern (监督电话).
    issuing_office: Mapped[str] = mapped_column(sa.String(120), default="")
    supervision_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    status: Mapped[str] = mapped_column(sa.String(10), default=RoundStatus.OPEN.value)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    region: Mapped[Region] = relationship()
    scheme: Mapped[Scheme] = relationship()

    __table_args__ = (
        sa.CheckConstraint("notice_days BETWEEN 1 AND 60", name="notice_days_in_range"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_when"),
    )

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN.value


class Grade(db.Model):
    """A facility's published star level, valid for three years from publication."""

    __tablename__ = "rating_grade"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    level: Mapped[int]
    valid_from: Mapped[date]
    valid_until: Mapped[date] = mapped_column(index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_round.id"))
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_scheme.id"))
    total: Mapped[Decimal] = mapped_column(sa.Numeric(7, 1))

    round: Mapped[Round] = relationship()
    scheme: Mapped[Scheme] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("facility_id", "round_id"),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="level_in_range"),
        sa.CheckConstraint("valid_until > valid_from", name="valid_period"),
    )

    @classmethod
    def __scope__(cls, user):
        # Published grades are public (they are shown on the public facility pages).
        return sa.true()


class Application(OfFacility, TimestampMixin, db.Model):
    """A facility in a round: its self-assessment, the assessors' scores, the committee's
    decision, the notice and the result (which explains itself)."""

    __tablename__ = "rating_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_round.id"), index=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=ApplicationStatus.APPLIED.value)
    #: The result the committee approved: level (None = no grade), totals and reasons.
    level: Mapped[int | None]
    total: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 1))
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_until: Mapped[date | None]
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_note: Mapped[str] = mapped_column(sa.String(500), default="")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    withdraw_reason: Mapped[str] = mapped_column(sa.String(500), default="")

    round: Mapped[Round] = relationship()
    facility: Mapped[Facility] = relationship()
    assessors: Mapped[list[User]] = relationship(secondary="rating_assessor", order_by="User.id")

    __table_args__ = (
        sa.UniqueConstraint("round_id", "facility_id"),
        sa.CheckConstraint(
            "status IN ('applied', 'self_assessed', 'assessed', 'in_notice', 'published',"
            " 'no_grade', 'withdrawn')",
            name="status_known",
        ),
        sa.CheckConstraint(
            "(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_when"
        ),
    )

    @property
    def status_label(self) -> str:
        return str(APPLICATION_LABELS[ApplicationStatus(self.status)])

    @property
    def is_withdrawn(self) -> bool:
        return self.status == ApplicationStatus.WITHDRAWN.value

    @property
    def is_being_assessed(self) -> bool:
        """Applied or self-assessed: assessors may still be appointed."""
        return self.status in (
            ApplicationStatus.APPLIED.value,
            ApplicationStatus.SELF_ASSESSED.value,
        )

    @property
    def is_assessed(self) -> bool:
        """Every assessor handed in: waiting for the committee."""
        return self.status == ApplicationStatus.ASSESSED.value

    @property
    def is_returned(self) -> bool:
        """Returned by the committee to the assessors (with a note), not handed in again."""
        return bool(self.return_note) and self.status == ApplicationStatus.SELF_ASSESSED.value

    @property
    def is_in_notice(self) -> bool:
        """Approved by the committee, in public notice (or past it, not yet published)."""
        return self.status == ApplicationStatus.IN_NOTICE.value

    @property
    def is_undecided(self) -> bool:
        """The committee has not decided yet: the facility may still withdraw."""
        return ApplicationStatus(self.status) in UNDECIDED

    @property
    def has_no_grade(self) -> bool:
        """The committee found the facility below every level."""
        return self.status == ApplicationStatus.NO_GRADE.value

    @classmethod
    def __scope__(cls, user):
        """The facility's operators, staff of its area, admins; an external assessor only
        the applications of its county it is appointed to."""
        if role_of(user) == Role.ASSESSOR:
            if user.region is None:
                return None
            return sa.and_(
                cls.id.in_(
                    sa.select(rating_assessor.c.application_id).where(
                        rating_assessor.c.user_id == user.id
                    )
                ),
                cls.round_id.in_(
                    sa.select(Round.id).where(Round.region_id.in_(Region.subtree_ids(user.region)))
                ),
            )
        return super().__scope__(user)


rating_assessor = sa.Table(
    "rating_assessor",
    db.metadata,
    sa.Column("application_id", sa.ForeignKey("rating_application.id"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user_account.id"), primary_key=True, index=True),
)


class Objection(TimestampMixin, db.Model):
    """An objection received during the public notice, and what was done about it: recorded
    by county staff (a letter, a call), or lodged by a member of the public on the notice
    page (``lodged_publicly``, with the name and phone they gave)."""

    __tablename__ = "rating_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_application.id"), index=True)
    received_on: Mapped[date]
    text: Mapped[str] = mapped_column(sa.String(1000))
    resolution: Mapped[str] = mapped_column(sa.String(1000), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    lodged_publicly: Mapped[bool] = mapped_column(default=False)
    lodger_name: Mapped[str] = mapped_column(sa.String(40), default="")
    lodger_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @classmethod
    def __scope__(cls, user):
        """Staff (who record and answer objections) see those of the applications they see;
        an objection is loaded by no one else (its application's page lists it)."""
        if role_of(user) != Role.ADMIN and role_of(user) not in STAFF_ROLES:
            return None
        return cls.application_id.in_(
            sa.select(Application.id).where(scope_clause(Application, user))
        )
