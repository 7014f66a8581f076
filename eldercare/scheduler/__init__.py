"""The one scheduler process, `flask scheduler run`: one leader among its copies, and its jobs.

Never started inside create_app (every web worker would run every job). Any number of copies
may run: one holds the leadership lock (a PostgreSQL advisory lock on a connection of its own,
or on SQLite an flock on a file beside the database) and runs the jobs; the others wait as
hot standbys and take over when the leader's process ends.

``jobs`` is the registry (what runs when), ``leadership`` the lock, ``runner`` the runs and the
leader's loop, ``models`` the record of each run (``JobRun``), ``queries`` and ``views`` the
administrators' page of it, ``cli`` the commands. The names the app and its tests use are
exported here.
"""

from __future__ import annotations

from eldercare.scheduler.cli import scheduler_cli, sweeps
from eldercare.scheduler.jobs import JOBS, Job, configured_jobs, repair_jobs
from eldercare.scheduler.leadership import LOCK_KEY, AdvisoryLeaderLock, FileLeaderLock
from eldercare.scheduler.runner import catch_up_time, execute, lead, run_scheduled

__all__ = [
    "JOBS",
    "LOCK_KEY",
    "AdvisoryLeaderLock",
    "FileLeaderLock",
    "Job",
    "catch_up_time",
    "configured_jobs",
    "execute",
    "lead",
    "repair_jobs",
    "run_scheduled",
    "scheduler_cli",
    "sweeps",
]
