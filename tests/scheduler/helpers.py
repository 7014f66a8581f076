"""Builders for the scheduler's tests: recorded runs of a job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eldercare.extensions import db
from eldercare.scheduler.models import JobRun

#: A repair sweep of the registry, and its rows.
SWEEP = "bookings-repair"


def add_run(job: str = SWEEP, *, ok: bool = True, count: int | None = 0, **kw) -> JobRun:
    started = kw.pop("started_at", datetime(2026, 12, 1, 16, 25, tzinfo=UTC))
    run = JobRun(
        job=job,
        started_at=started,
        finished_at=started + timedelta(seconds=kw.pop("seconds", 2)),
        ok=ok,
        count=count if ok else None,
        error=kw.pop("error", ""),
        repairs=kw.pop("repairs", job.endswith("-repair")),
        pid=4242,
        host="sched-1",
    )
    db.session.add(run)
    db.session.flush()
    return run


def add_runs(_world, n: int) -> None:
    """``n`` more runs of the bookings sweep and of two other jobs (the list pages' data)."""
    for i in range(n):
        at = datetime(2026, 11, 1, 16, 25, tzinfo=UTC) + timedelta(days=i)
        add_run(SWEEP, count=i % 3, started_at=at)
        add_run("beds-expire", count=i, started_at=at)
        add_run("visits-digest", ok=i % 2 == 0, error="OperationalError: gone", started_at=at)
