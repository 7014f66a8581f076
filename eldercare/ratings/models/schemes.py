"""Rating schemes (养老机构等级评定) as versioned data: sections with point totals, items with
their maximum points and evidence, must-have items that block any grade, and the thresholds
(total and per-section minimums) of each level, up to the highest level the scheme allows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.core.db import TimestampMixin, UTCDateTime
from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.extensions import db
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
