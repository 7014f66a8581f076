"""Each run of a scheduled job, kept for the administrators' page: when it ran, how long it
took, whether it succeeded, its count (what a repair sweep repaired) or its error, and which
process ran it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from eldercare.core.db import UTCDateTime
from eldercare.extensions import db

#: How much of a failed run's error is kept (the traceback is in the scheduler's log).
ERROR_LENGTH = 1000
HOST_LENGTH = 100
JOB_NAME_LENGTH = 64
#: Runs are kept this many days (a job every 20 seconds runs 4,320 times a day).
KEEP_DAYS = 30


class JobRun(db.Model):
    """One run of a job: written by ``runner.execute`` after the job's own transaction, a
    failed run in a transaction of its own after the rollback."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(JOB_NAME_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ok: Mapped[bool] = mapped_column(default=False)
    #: What the job returned (messages sent, rows repaired); None when it failed.
    count: Mapped[int | None] = mapped_column()
    error: Mapped[str] = mapped_column(sa.String(ERROR_LENGTH), default="")
    #: Whether the job is a repair sweep (its count is what it found broken).
    repairs: Mapped[bool] = mapped_column(default=False)
    pid: Mapped[int] = mapped_column(default=0)
    host: Mapped[str] = mapped_column(sa.String(HOST_LENGTH), default="")

    __table_args__ = (
        # The last run of each job, and a job's runs newest first.
        sa.Index("ix_job_run_job_id", "job", "id"),
        # Runs past KEEP_DAYS are deleted.
        sa.Index("ix_job_run_started_at", "started_at"),
    )

    def __repr__(self) -> str:
        return f"<JobRun {self.id} {self.job} {'ok' if self.ok else 'failed'}>"

    @property
    def duration_seconds(self) -> float:
        return max((self.finished_at - self.started_at).total_seconds(), 0.0)

    @property
    def outcome_label(self):
        return _l("Succeeded") if self.ok else _l("Failed")

    @property
    def colour(self) -> str:
        """The badge colour of the outcome; a repair sweep that repaired something stands
        out."""
        if not self.ok:
            return "danger"
        return "warning" if self.repaired else "success"

    @property
    def repaired(self) -> int:
        """What a successful repair sweep repaired (0 for any other run)."""
        return (self.count or 0) if self.ok and self.repairs else 0
