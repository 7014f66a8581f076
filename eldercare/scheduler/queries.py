"""What the administrators' page of the jobs reads: each job of the registry with its
schedule and its last run, and the runs of one job, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.extensions import db
from eldercare.scheduler.jobs import Job, parse_clock
from eldercare.scheduler.models import JobRun


@dataclass(frozen=True)
class JobLine:
    """A job of the registry as the page shows it."""

    job: Job
    schedule: object  # a lazy string
    last: JobRun | None


def schedule_label(job: Job, config: Mapping[str, Any]):
    """ "每天 00:10", "每 15 分钟", "每 20 秒", in the reader's language."""
    value = job.schedule(config)
    if job.kind == "daily":
        hour, minute = parse_clock(str(value), job.setting or job.name)
        return _l("Daily at %(time)s", time=f"{hour:02d}:{minute:02d}")
    seconds = int(value)
    if seconds % 60 == 0:
        return _l("Every %(n)s min", n=seconds // 60)
    return _l("Every %(n)s s", n=seconds)


def last_runs(names: list[str]) -> dict[str, JobRun]:
    """The latest run of each job named, in one query (runs are numbered as they end; each
    job's latest is one step down the (job, id) index)."""
    if not names:
        return {}
    latest = sa.union_all(
        *(sa.select(sa.func.max(JobRun.id)).where(JobRun.job == name) for name in names)
    )
    rows = db.session.scalars(sa.select(JobRun).where(JobRun.id.in_(latest)))
    return {run.job: run for run in rows}


def job_lines(jobs: list[Job], config: Mapping[str, Any]) -> list[JobLine]:
    last = last_runs([job.name for job in jobs])
    return [JobLine(job, schedule_label(job, config), last.get(job.name)) for job in jobs]


def runs_of(job: Job) -> sa.Select:
    """The runs of a job, newest first (for a page of them)."""
    return sa.select(JobRun).where(JobRun.job == job.name).order_by(JobRun.id.desc())
