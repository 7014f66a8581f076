"""Overview snapshots: a computed county overview kept for a while (see ``snapshots``)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eldercare.core.db import UTCDateTime
from eldercare.extensions import db


class OverviewSnapshot(db.Model):
    """The overview of one area for one month, as computed at ``computed_at``.

    ``programs`` tells which subsidy programs' figures it holds (a digest of their sorted ids,
    listed in the payload): people who may see different programs never share a snapshot."""

    __tablename__ = "overview_snapshot"
    __table_args__ = (sa.UniqueConstraint("region_id", "month", "programs"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(sa.Date)
    programs: Mapped[str] = mapped_column(sa.String(64))
    #: The day the figures are taken (the month's last day, or the day it was computed).
    day: Mapped[date] = mapped_column(sa.Date)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Last time somebody opened it (kept to the hour): the job refreshes what people look at.
    viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    payload: Mapped[dict] = mapped_column(sa.JSON)
