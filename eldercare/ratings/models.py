"""Rating schemes (养老机构等级评定) as versioned data: sections with point totals, items with
their maximum points and evidence, must-have items that block any grade, and the thresholds
(total and per-section minimums) of each level, up to the highest level the scheme allows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.db import TimestampMixin, UTCDateTime, utcnow
from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility, OfFacility
from eldercare.regions.models import Region


class SchemeKind(StrEnum):
    """What a scheme rates (GB/T 37276 and the provincial schemes for smaller places)."""

    NURSING_HOME = "nursing_home"
    HOME_CARE_CENTER = "home_care_center"
    COMMUNITY_STATION = "community_station"
    HAPPINESS_HOME = "happiness_home"


KIND_LABELS = {
    SchemeKind.NURSING_HOME: _l("Nursing home"),
    SchemeKind.HOME_CARE_CENTER: _l("Regional home-care center"),
    SchemeKind.COMMUNITY_STATION: _l("Community station"),
    SchemeKind.HAPPINESS_HOME: _l("Rural happiness home"),
}
#: The facility kinds each scheme is meant for. A day-care center (日间照料中心) is none of
#: them: the regional home-care center scheme asks for home services, short-stay beds and a
#: dispatch platform that a day-care center does not run, and no scheme of its own is
#: shipped, so it is neither rated nor counted in the share of rated facilities.
FACILITY_KINDS = {
    SchemeKind.NURSING_HOME: ("nursing_home", "township_home"),
    SchemeKind.HOME_CARE_CENTER: ("home_care_provider",),
    SchemeKind.COMMUNITY_STATION: ("community_station",),
    SchemeKind.HAPPINESS_HOME: ("happiness_home",),
}


class Scheme(TimestampMixin, db.Model):
    """One version of a rating scheme. A shipped scheme belongs to no county; a county's copy
    belongs to the county and may be edited until a round uses it (then it is frozen)."""

    __tablename__ = "rating_scheme"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(24))
    max_level: Mapped[int] = mapped_column(default=5)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    copied_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rating_scheme.id"))
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    region: Mapped[Region | None] = relationship()
    sections: Mapped[list[Section]] = relationship(
        back_populates="scheme", order_by="Section.position", cascade="all, delete-orphan"
    )
    thresholds: Mapped[list[Threshold]] = relationship(
        back_populates="scheme", order_by="Threshold.level", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("code", "version", "region_id"),
        # NULLs are distinct to a unique constraint: the shipped versions need their own.
        sa.Index(
            "uq_rating_scheme_shipped",
            "code",
            "version",
            unique=True,
            sqlite_where=sa.text("region_id IS NULL"),
            postgresql_where=sa.text("region_id IS NULL"),
        ),
        sa.CheckConstraint("max_level BETWEEN 1 AND 5", name="max_level_in_range"),
        sa.CheckConstraint(
            "kind IN ('nursing_home', 'home_care_center', 'community_station', 'happiness_home')",
            name="kind_known",
        ),
    )

    @property
    def total_points(self) -> int:
        return sum(section.max_points for section in self.sections)

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[SchemeKind(self.kind)])

    @property
    def must_haves(self) -> list[Item]:
        return [item for s in self.sections for item in s.items if item.must_have]

    @classmethod
    def __scope__(cls, user):
        """Shipped schemes are public knowledge to staff; a county's copies to its staff."""
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role in STAFF_ROLES and user.region is not None:
            county_prefix = user.region.code[:6]
            return sa.or_(
                cls.region_id.is_(None),
                cls.region_id.in_(
                    sa.select(Region.id).where(Region.code.startswith(county_prefix))
                ),
            )
        return None


class Section(db.Model):
    """A part of the scheme with its point total, e.g. 安全 300 of 1,000."""

    __tablename__ = "rating_section"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_scheme.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(60))
    max_points: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)

    scheme: Mapped[Scheme] = relationship(back_populates="sections")
    items: Mapped[list[Item]] = relationship(
        back_populates="section", order_by="Item.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("scheme_id", "code"),
        sa.CheckConstraint("max_points >= 0", name="points_not_negative"),
    )


class Item(db.Model):
    """One checklist line: scored from 0 to ``max_points``, or (a must-have item) met or not."""

    __tablename__ = "rating_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_section.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.String(500))
    max_points: Mapped[int] = mapped_column(default=0)
    must_have: Mapped[bool] = mapped_column(default=False)
    evidence: Mapped[str] = mapped_column(sa.String(255), default="")
    position: Mapped[int] = mapped_column(default=0)

    section: Mapped[Section] = relationship(back_populates="items")

    __table_args__ = (
        sa.UniqueConstraint("section_id", "code"),
        sa.CheckConstraint(
            "(must_have AND max_points = 0) OR (NOT must_have AND max_points > 0)",
            name="points_or_must_have",
        ),
    )


class Threshold(db.Model):
    """What a level needs: a total and, per section, a minimum (section code -> points)."""

    __tablename__ = "rating_threshold"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_scheme.id"), index=True)
    level: Mapped[int]
    min_total: Mapped[int]
    section_minimums: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)

    scheme: Mapped[Scheme] = relationship(back_populates="thresholds")

    __table_args__ = (
        sa.UniqueConstraint("scheme_id", "level"),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name="level_in_range"),
        sa.CheckConstraint("min_total >= 0", name="total_not_negative"),
    )


# --- rounds, applications, assessments -------------------------------------------------------


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


class AssessmentKind(StrEnum):
    SELF = "self"
    ASSESSOR = "assessor"


class Assessment(TimestampMixin, db.Model):
    """One set of item scores: the operator's self-assessment, or one assessor's."""

    __tablename__ = "rating_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_application.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    by: Mapped[User] = relationship()
    scores: Mapped[list[Score]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("application_id", "kind", "by_id"),
        sa.CheckConstraint("kind IN ('self', 'assessor')", name="kind_known"),
    )


class Score(db.Model):
    """One item of one assessment: points (or met / not met), and the assessor's note."""

    __tablename__ = "rating_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_assessment.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_item.id"))
    points: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))
    met: Mapped[bool | None]
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    assessment: Mapped[Assessment] = relationship(back_populates="scores")
    item: Mapped[Item] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("assessment_id", "item_id"),
        sa.CheckConstraint("points IS NULL OR points >= 0", name="points_not_negative"),
    )


class EvidenceType(StrEnum):
    """The kinds of file accepted as evidence, told by their first bytes."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    PDF = "application/pdf"


#: Magic numbers: what a file of each type starts with (never the name or the browser's word).
MAGIC = (
    (b"\xff\xd8\xff", EvidenceType.JPEG),
    (b"\x89PNG\r\n\x1a\n", EvidenceType.PNG),
    (b"%PDF-", EvidenceType.PDF),
)


def sniff_type(head: bytes) -> EvidenceType | None:
    """The evidence type of a file from its first bytes; None for anything else."""
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


class Evidence(db.Model):
    """A file (a photo or a PDF) attached to one item of one assessment. The bytes live under
    the instance folder (``storage_key`` relative to the evidence directory), never under
    static/; served only through a view that checks this scope."""

    __tablename__ = "rating_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_assessment.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("rating_item.id"))
    original_name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assessment: Mapped[Assessment] = relationship()
    item: Mapped[Item] = relationship()
    uploaded_by: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint("size > 0", name="not_empty"),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'application/pdf')",
            name="content_type_known",
        ),
    )

    @property
    def is_pdf(self) -> bool:
        return self.content_type == EvidenceType.PDF.value

    @classmethod
    def __scope__(cls, user):
        """The application's scope, narrower: county staff of the round's county, the
        appointed assessors, and the facility's operators for the self-assessment only.
        An appointed assessor sees the other assessors' files once its own scores are in,
        as with the scores themselves (independent scoring)."""
        role = role_of(user)
        if role == Role.ADMIN:
            allowed = sa.true()
        elif role == Role.COUNTY_STAFF and user.region is not None:
            allowed = Assessment.application_id.in_(
                sa.select(Application.id)
                .join(Round, Round.id == Application.round_id)
                .where(Round.region_id.in_(Region.subtree_ids(user.region)))
            )
        elif role == Role.ASSESSOR:
            scope = Application.__scope__(user)
            if scope is None:
                return None
            allowed = Assessment.application_id.in_(sa.select(Application.id).where(scope))
        elif role == Role.OPERATOR:
            allowed = sa.and_(
                Assessment.kind == AssessmentKind.SELF.value,
                Assessment.application_id.in_(
                    sa.select(Application.id).where(Application.facility_id == user.facility_id)
                ),
            )
        else:
            return None
        own = aliased(Assessment)
        handed_in = sa.select(own.application_id).where(
            own.kind == AssessmentKind.ASSESSOR.value,
            own.by_id == user.id,
            own.submitted_at.is_not(None),
        )
        still_scoring = sa.select(rating_assessor.c.application_id).where(
            rating_assessor.c.user_id == user.id,
            rating_assessor.c.application_id.not_in(handed_in),
        )
        others_meanwhile = sa.and_(
            Assessment.kind == AssessmentKind.ASSESSOR.value,
            Assessment.by_id != user.id,
            Assessment.application_id.in_(still_scoring),
        )
        return cls.assessment_id.in_(
            sa.select(Assessment.id).where(allowed, sa.not_(others_meanwhile))
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
