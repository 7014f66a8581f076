"""The scores of an application (the self-assessment and each assessor's) and the evidence
files attached to their items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.db import TimestampMixin, UTCDateTime, utcnow
from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db
from eldercare.ratings.models.rounds import Application, Round, rating_assessor
from eldercare.ratings.models.schemes import Item
from eldercare.regions.models import Region


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

    application: Mapped[Application] = relationship()
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
