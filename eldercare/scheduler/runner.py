"""Running the jobs: one run of a job (logged and recorded, rolled back on an error), the
leader's schedule with its catch-up runs, and the loop that leads or stands by."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from eldercare.core.processes import stop_when
from eldercare.extensions import db
from eldercare.scheduler.jobs import Job, parse_clock
from eldercare.scheduler.leadership import LeaderLock, leader_lock
from eldercare.scheduler.models import (
    ERROR_LENGTH,
    HOST_LENGTH,
    JOB_NAME_LENGTH,
    KEEP_DAYS,
    JobRun,
)

#: One logger for the whole process (operators and tests follow "eldercare.scheduler").
log = logging.getLogger("eldercare.scheduler")


def execute(app: Flask, job: Job, now: datetime | None = None) -> int:
    """Run a job once, in an app context of its own, logged and recorded (``JobRun``). On an
    error the session is rolled back, the traceback logged, the failed run recorded in a
    transaction of its own, and the error raised again."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    with app.app_context():
        started = time.monotonic()
        started_at = datetime.now(UTC)
        log.info("job %s: start (now %s)", job.name, now.isoformat(timespec="seconds"))
        try:
            count = job.resolve()(now=now)
        except Exception as err:
            log.exception("job %s: failed after %.2f s", job.name, time.monotonic() - started)
            db.session.rollback()
            _record(job, started_at, ok=False, error=f"{type(err).__name__}: {err}")
            raise
        log.info("job %s: done, count %s, %.2f s", job.name, count, time.monotonic() - started)
        _record(job, started_at, ok=True, count=count)
        return count


def _record(job: Job, started_at: datetime, *, ok: bool, count=None, error: str = "") -> None:
    """The run, committed on its own, and the job's runs older than KEEP_DAYS deleted. A run
    that cannot be recorded (the database went away) is logged; the job's outcome stands."""
    try:
        db.session.add(
            JobRun(
                job=job.name[:JOB_NAME_LENGTH],
                started_at=started_at,
                finished_at=datetime.now(UTC),
                ok=ok,
                count=count if isinstance(count, int) else None,
                error=error[:ERROR_LENGTH],
                repairs=job.repairs,
                pid=os.getpid(),
                host=socket.gethostname()[:HOST_LENGTH],
            )
        )
        db.session.execute(
            sa.delete(JobRun).where(
                JobRun.job == job.name,
                JobRun.started_at < started_at - timedelta(days=KEEP_DAYS),
            )
        )
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        log.exception("job %s: its run could not be recorded", job.name)
        db.session.rollback()


#: A daily job that failed (the database was away, say) is tried again this much later, and
#: again, until it succeeds: its day's reminders must not wait for tomorrow.
RETRY_AFTER = timedelta(minutes=15)


def run_scheduled(
    app: Flask,
    job: Job,
    scheduler: BaseScheduler | None = None,
    lock: LeaderLock | None = None,
    stop: threading.Event | None = None,
) -> None:
    """What the scheduler calls: a failed run is logged by execute and the scheduler goes on;
    a failed daily job is tried again after RETRY_AFTER (every job is idempotent). With the
    leader's ``lock``, leadership is asked again right before the run: a copy whose lock was
    taken from it (its session ended by the server, a standby leading already) runs nothing,
    without waiting for its watch to notice. While the job runs, a loop in it that asks
    ``core.processes.stop_requested()`` between its items (the outbox dispatcher, between
    messages) stops when ``stop`` is set (SIGTERM) or the lock is lost."""
    if stop is not None and stop.is_set():
        log.info("job %s: not run, the scheduler is stopping", job.name)
        return
    if lock is not None and not lock.held():
        log.error("job %s: not run, this copy no longer holds the leadership lock", job.name)
        return

    def should_stop() -> bool:
        if stop is not None and stop.is_set():
            return True
        if lock is not None and not lock.held():
            log.error("job %s: leadership lock lost while it ran: stopping it", job.name)
            return True
        return False

    try:
        with stop_when(should_stop):
            execute(app, job)
    except Exception:
        if scheduler is not None and job.kind == "daily":
            scheduler.add_job(
                run_scheduled,
                "date",
                run_date=datetime.now(UTC) + RETRY_AFTER,
                args=(app, job, scheduler, lock, stop),
                id=f"{job.name}-retry",
                name=f"{job.name} (retry)",
                replace_existing=True,
                misfire_grace_time=None,
            )
            log.warning("job %s: tried again at the latest in %s", job.name, RETRY_AFTER)


def catch_up_time(job: Job, config: Mapping[str, Any], now: datetime) -> datetime:
    """When a job first runs after this process takes the lead: interval jobs at once; a
    daily job at once if its time of day has passed today (it missed today's run, or ran and
    will add nothing: it is idempotent), else at that time (the morning digest never goes out
    at 02:00 because the scheduler restarted then)."""
    if job.kind != "daily":
        return now
    hour, minute = parse_clock(str(job.schedule(config)), job.name)
    todays = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return now if now >= todays else todays


def lead(app: Flask, jobs: list[Job], lock: LeaderLock, stop: threading.Event) -> None:
    """Run the jobs until asked to stop or the lock is lost: first a catch-up run of each job
    (see ``catch_up_time``: a scheduler that was down for days catches up exactly once), then
    each on its trigger."""
    zone = ZoneInfo(app.config["TIMEZONE"])
    poll = app.config["SCHEDULER_STANDBY_POLL_SECONDS"]
    scheduler = BlockingScheduler(timezone=zone)
    now = datetime.now(zone)
    for job in jobs:
        trigger = job.trigger(app.config)
        scheduler.add_job(
            run_scheduled,
            trigger,
            args=(app, job, scheduler, lock, stop),
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.misfire_grace_time(app.config),
            next_run_time=catch_up_time(job, app.config, now),
        )

    def watch() -> None:
        while not stop.wait(poll):
            try:
                still = lock.held()
            except Exception:  # whatever it is, this copy cannot show that it leads
                log.exception("leadership lock check failed")
                still = False
            if not still:
                log.error("leadership lock lost: stopping the jobs, then back to standby")
                break
        # Lets running jobs finish; until they do, no new run starts.
        scheduler.shutdown(wait=True)

    def start_watching(_event) -> None:
        threading.Thread(target=watch, name="scheduler-watch", daemon=True).start()

    scheduler.add_listener(start_watching, EVENT_SCHEDULER_STARTED)
    log.info("leading: %d jobs, each caught up once before its schedule", len(jobs))
    scheduler.start()  # blocks until watch() shuts it down


def run_scheduler(app: Flask, jobs: list[Job], stop: threading.Event) -> None:
    """Lead when the lock is free, stand by while another copy leads, until ``stop`` is set."""
    poll = app.config["SCHEDULER_STANDBY_POLL_SECONDS"]
    lock = leader_lock(app)
    pid = os.getpid()
    state = "starting"
    try:
        while not stop.is_set():
            try:
                leading = lock.acquire()
            except (sa.exc.SQLAlchemyError, OSError) as err:
                log.warning("standby: cannot reach the leadership lock (%s); retrying", err)
                leading = False
            if not leading:
                if state != "standby":
                    log.info("standby (pid %d): another copy leads; trying every %d s", pid, poll)
                    state = "standby"
                stop.wait(poll)
                continue
            if state == "standby":
                log.info("took over: this copy (pid %d) is now the leader", pid)
            else:
                log.info("leader (pid %d): running %d jobs", pid, len(jobs))
            state = "leader"
            try:
                lead(app, jobs, lock, stop)
            finally:
                lock.release()
            if not stop.is_set():
                state = "lost"
    finally:
        lock.close()
    log.info("scheduler (pid %d) stopped", pid)
