"""Regions with GB/T 2260-style 12-digit statistical codes; a subtree is a code prefix."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.core.db import DefaultsMixin, UTCDateTime
from eldercare.extensions import db


class Level(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


LEVEL_ORDER = [Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE]
#: Significant digits of a 12-digit code at each level (2+2+2+3+3).
PREFIX_LENGTH = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
}
LEVEL_LABELS = {
    Level.PROVINCE: _l("Province"),
    Level.CITY: _l("City"),
    Level.COUNTY: _l("County"),
    Level.TOWNSHIP: _l("Township"),
    Level.VILLAGE: _l("Village"),
}
CODE_LENGTH = 12


def level_of_code(code: str) -> Level:
    """The level a 12-digit code denotes: the last group that is not all zeros decides.

    Every group above it must be filled in: 610302000201 (a village under no township) is
    no region's code, and subtrees are code prefixes, so it would land in the wrong one.
    """
    if len(code) != CODE_LENGTH or not code.isascii() or not code.isdigit():
        raise ValueError(code)
    filled, start = [], 0
    for level in LEVEL_ORDER:
        filled.append(int(code[start : PREFIX_LENGTH[level]]) != 0)
        start = PREFIX_LENGTH[level]
    depth = filled.count(True)
    if depth == 0 or filled != [True] * depth + [False] * (len(filled) - depth):
        raise ValueError(code)
    return LEVEL_ORDER[depth - 1]


def parent_code_of(code: str) -> str | None:
    level = level_of_code(code)
    if level == Level.PROVINCE:
        return None
    parent_level = LEVEL_ORDER[LEVEL_ORDER.index(level) - 1]
    keep = PREFIX_LENGTH[parent_level]
    return code[:keep] + "0" * (CODE_LENGTH - keep)


class Region(db.Model):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[str] = mapped_column(sa.String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    # A region that was renamed or merged keeps its row so old records and ID codes resolve.
    abolished_on: Mapped[date | None]
    successor_code: Mapped[str | None] = mapped_column(sa.String(12))

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.code")

    __table_args__ = (
        sa.CheckConstraint(
            "level IN ('province','city','county','township','village')", name="level_known"
        ),
    )

    @property
    def prefix(self) -> str:
        return self.code[: PREFIX_LENGTH[Level(self.level)]]

    @property
    def is_active(self) -> bool:
        return self.abolished_on is None

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS[Level(self.level)])

    def contains(self, other: Region | None) -> bool:
        return other is not None and other.code.startswith(self.prefix)

    @property
    def county(self) -> Region | None:
        """The county (县/区) this region lies in: itself for a county, the one above a township
        or village; None for a province or city (they lie in no single county)."""
        node = self
        while node is not None and node.level != Level.COUNTY.value:
            if node.level in (Level.PROVINCE.value, Level.CITY.value):
                return None
            node = node.parent
        return node

    def ancestors(self) -> list[Region]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    @property
    def full_name(self) -> str:
        return "".join(r.name for r in [*self.ancestors()[1:], self])

    @classmethod
    def subtree_ids(cls, region: Region) -> sa.Select:
        """SELECT of the ids of ``region`` and everything below it."""
        return sa.select(cls.id).where(cls.code.startswith(region.prefix, autoescape=True))

    @classmethod
    def __scope__(cls, user):
        # Administrative divisions are public knowledge: every signed-in user may read them.
        return sa.true()

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class CountySettings(DefaultsMixin, db.Model):
    """Bounds that differ between counties and that the platform enforces on what people
    type: how far ahead a subsidy batch may be drawn up, the plausible monthly price of a bed.
    A county without a row uses the defaults (``CountySettings.defaults``)."""

    __tablename__ = "county_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), unique=True)
    #: A batch may be drawn up for a period that has begun, or this many periods ahead.
    subsidy_periods_ahead: Mapped[int] = mapped_column(default=1)
    #: The plausible range of a bed's monthly price, in fen (¥300 to ¥30,000 by default).
    bed_price_min_fen: Mapped[int] = mapped_column(default=30_000)
    bed_price_max_fen: Mapped[int] = mapped_column(default=3_000_000)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    region: Mapped[Region] = relationship()
    #: Who saved them last (the account model is named, not imported: accounts build on
    #: regions, not the other way round).
    updated_by = relationship("User", foreign_keys=[updated_by_id])

    __table_args__ = (
        sa.CheckConstraint("subsidy_periods_ahead BETWEEN 0 AND 12", name="periods_ahead_range"),
        sa.CheckConstraint(
            "bed_price_min_fen >= 0 AND bed_price_max_fen > bed_price_min_fen"
            " AND bed_price_max_fen <= 100000000",
            name="bed_price_range",
        ),
    )

    @classmethod
    def __scope__(cls, user):
        # Staff read them (the settings page); an operator's bed price is checked against
        # them by the operation, which needs no read scope. Everyone else sees none.
        from eldercare.core.permissions import Role, role_of

        if role_of(user) in (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF):
            return sa.true()
        return None
