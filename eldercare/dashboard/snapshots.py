"""Computed overviews kept for a while, so the page opens at once.

A city's overview reads a million people, a year of visits and three million payments: too
much to compute each time somebody opens the page. The result is kept in ``overview_snapshot``
and served while it is younger than ``OVERVIEW_MAX_AGE_SECONDS`` (and taken on the right day);
the ``overview-refresh`` job (``dashboard.tasks.refresh``) recomputes, every
``OVERVIEW_REFRESH_SECONDS``, what people opened in the last ``OVERVIEW_KEEP_DAYS`` days and
this month's overview of every county and city, so nobody waits for it. The page says when its
figures were computed and offers to recompute them.

A snapshot holds the figures of the whole area. The page checks that the area is inside the
user's own before it shows one; the subsidy figures are those of the programs the user may see,
and people who may see different programs never share a snapshot.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from eldercare.core.db import local_date, local_today, utcnow
from eldercare.dashboard.models import OverviewSnapshot
from eldercare.dashboard.overview import (
    AreaRow,
    FacilityRow,
    Indicator,
    Overview,
    Point,
    ProgramAmount,
    StarChart,
    county_overview,
    month_days,
)
from eldercare.extensions import db
from eldercare.regions.models import Level, Region
from eldercare.subsidies import reports as subsidies
from eldercare.subsidies.models import Program

#: Raised whenever the payload's shape changes: older snapshots are then recomputed.
PAYLOAD_VERSION = 2  # 2: each program's payment count
#: viewed_at is written at most this often (a view is otherwise a read).
VIEW_MARK = timedelta(hours=1)
#: Areas whose overview of the month is kept ready whether or not anybody opened it.
PREPARED_LEVELS = (Level.CITY.value, Level.COUNTY.value)


# --- an overview as JSON and back ------------------------------------------------------------


def _levels(counts: dict | None) -> list | None:
    return None if counts is None else [[level, n] for level, n in counts.items()]


def _unlevels(pairs: list | None) -> dict | None:
    return None if pairs is None else {level: n for level, n in pairs}


def to_payload(ov: Overview, idle_days: int, program_ids: list[int]) -> dict:
    """The overview's figures as JSON (labels are not kept: they are made when shown), with
    the settings and programs they were computed for."""
    return {
        "version": PAYLOAD_VERSION,
        "idle_days": idle_days,
        "program_ids": program_ids,
        "month": ov.month.isoformat(),
        "day": ov.day.isoformat(),
        "computed_at": ov.computed_at.isoformat(),
        "indicators": [
            {
                "key": i.key,
                "value": i.value,
                "unit": i.unit,
                "target": i.target,
                "params": i.params,
                "trend": [[p.month.isoformat(), p.value] for p in i.trend],
                "lower_is_better": i.lower_is_better,
            }
            for i in ov.indicators
        ],
        "areas": [{**asdict(a), "stars": _levels(a.stars)} for a in ov.areas],
        "facilities": [asdict(f) for f in ov.facilities],
        "stars": {"now": _levels(ov.stars.now), "before": _levels(ov.stars.before)},
        "programs": [[p.name, p.fen, p.count] for p in ov.programs],
    }


def from_payload(region: Region, data: dict) -> Overview:
    return Overview(
        region=region,
        month=date.fromisoformat(data["month"]),
        day=date.fromisoformat(data["day"]),
        computed_at=datetime.fromisoformat(data["computed_at"]),
        indicators=[
            Indicator(
                i["key"],
                i["value"],
                i["unit"],
                i["target"],
                i["params"],
                [Point(date.fromisoformat(m), v) for m, v in i["trend"]],
                i["lower_is_better"],
            )
            for i in data["indicators"]
        ],
        areas=[AreaRow(**{**a, "stars": _unlevels(a["stars"])}) for a in data["areas"]],
        facilities=[FacilityRow(**f) for f in data["facilities"]],
        stars=StarChart(_unlevels(data["stars"]["now"]), _unlevels(data["stars"]["before"])),
        programs=[ProgramAmount(name, fen, count) for name, fen, count in data["programs"]],
    )


# --- keeping and finding them ---------------------------------------------------------------


def _program_ids(programs: list[Program]) -> list[int]:
    return sorted(p.id for p in programs)


def programs_key(programs: list[Program]) -> str:
    """What tells snapshots of different programs apart: a digest of their sorted ids (a
    province's hundreds of programs would not fit a column as a list)."""
    text = ",".join(str(i) for i in _program_ids(programs))
    return hashlib.sha256(text.encode()).hexdigest()


def _usable(snap: OverviewSnapshot, day: date, today: date, idle_days: int, now: datetime) -> bool:
    """Recent enough, of the current shape and settings, and taken on the right day: today for
    the current month; for a past month, after its last day was over (a snapshot made on the
    evening of the 30th lacks that evening's records, and counted what was overdue then)."""
    max_age = timedelta(seconds=current_app.config["OVERVIEW_MAX_AGE_SECONDS"])
    data = snap.payload or {}
    return (
        data.get("version") == PAYLOAD_VERSION
        and data.get("idle_days") == idle_days
        and snap.day == day
        and (day == today or local_date(snap.computed_at) > day)
        and now - snap.computed_at < max_age
    )


def _find(region: Region, month: date, key: str) -> OverviewSnapshot | None:
    return db.session.scalar(
        sa.select(OverviewSnapshot).where(
            OverviewSnapshot.region_id == region.id,
            OverviewSnapshot.month == month,
            OverviewSnapshot.programs == key,
        )
    )


def _store(
    ov: Overview, programs: list[Program], idle_days: int, viewed_at: datetime | None
) -> None:
    """Insert or replace the snapshot (two workers computing the same one: the later wins)."""
    values = {
        "region_id": ov.region.id,
        "month": ov.month,
        "programs": programs_key(programs),
        "day": ov.day,
        "computed_at": ov.computed_at,
        "viewed_at": viewed_at,
        "payload": to_payload(ov, idle_days, _program_ids(programs)),
    }
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(OverviewSnapshot).values(**values)
    update = {k: stmt.excluded[k] for k in ("day", "computed_at", "payload")}
    if viewed_at is not None:
        update["viewed_at"] = stmt.excluded.viewed_at
    db.session.execute(
        stmt.on_conflict_do_update(index_elements=["region_id", "month", "programs"], set_=update)
    )


def overview_for(
    region: Region, month: date, programs: list[Program], *, fresh: bool = False
) -> Overview:
    """The overview of ``region`` (which the caller has checked is inside the user's area)
    with the figures of ``programs``: the kept one if it is recent enough, else computed
    now and kept (the caller commits). ``fresh`` computes it anew whatever is kept."""
    idle_days = current_app.config["DAYCARE_IDLE_DAYS"]
    today = local_today()
    now = utcnow()
    day = month_days(month, today)[-1][1]
    snap = None if fresh else _find(region, month, programs_key(programs))
    if snap is not None and _usable(snap, day, today, idle_days, now):
        if snap.viewed_at is None or now - snap.viewed_at > VIEW_MARK:
            snap.viewed_at = now
        return from_payload(region, snap.payload)
    ov = county_overview(region, month, today, idle_days=idle_days, programs=programs)
    _store(ov, programs, idle_days, viewed_at=now)
    return ov


def forget_unopened(keep: datetime, this_month: date) -> None:
    """Forget the snapshots nobody opened since ``keep``, and the unopened ones of past
    months (those of this month are kept ready by the job)."""
    db.session.execute(
        sa.delete(OverviewSnapshot).where(
            sa.or_(
                OverviewSnapshot.viewed_at < keep,
                sa.and_(OverviewSnapshot.viewed_at.is_(None), OverviewSnapshot.month < this_month),
            )
        )
    )


def wanted_this_month(keep: datetime, this_month: date) -> dict[tuple[int, str], list[int]]:
    """(region id, programs key) -> program ids of the overviews to keep ready this month:
    every city's and county's with its related programs, and those opened since ``keep``."""
    wanted: dict[tuple[int, str], list[int]] = {}
    for region in db.session.scalars(
        sa.select(Region)
        .where(Region.level.in_(PREPARED_LEVELS), Region.abolished_on.is_(None))
        .order_by(Region.code)
    ):
        programs = subsidies.related_programs(region)
        wanted[(region.id, programs_key(programs))] = _program_ids(programs)
    for snap in db.session.scalars(
        sa.select(OverviewSnapshot).where(
            OverviewSnapshot.viewed_at >= keep, OverviewSnapshot.month == this_month
        )
    ):
        wanted.setdefault((snap.region_id, snap.programs), snap.payload.get("program_ids"))
    return wanted


def refresh_one(
    region_id: int,
    key: str,
    ids: list[int] | None,
    month: date,
    today: date,
    idle_days: int,
    now: datetime,
    due: datetime,
) -> bool:
    """Recompute one kept overview unless it was computed after ``due``; forget it if its
    area or one of its programs is gone. True when it was computed."""
    region = db.session.get(Region, region_id)
    snap = _find(region, month, key) if region is not None else None
    day = month_days(month, today)[-1][1]
    if snap is not None and snap.computed_at > due and _usable(snap, day, today, idle_days, now):
        return False
    programs = (
        [] if not ids else list(db.session.scalars(sa.select(Program).where(Program.id.in_(ids))))
    )
    if region is None or ids is None or len(programs) != len(ids):
        # Its area or one of its programs is gone: nobody will be shown it again.
        db.session.execute(
            sa.delete(OverviewSnapshot).where(
                OverviewSnapshot.region_id == region_id, OverviewSnapshot.programs == key
            )
        )
        return False
    programs.sort(key=lambda p: (p.region.code, p.code))
    ov = county_overview(region, month, today, idle_days=idle_days, programs=programs)
    _store(ov, programs, idle_days, viewed_at=None)
    return True
