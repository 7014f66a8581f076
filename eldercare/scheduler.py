"""The one scheduler process, `flask scheduler run`: one leader among its copies, and its jobs.

Never started inside create_app (every web worker would run every job). Any number of copies
may run: one holds the leadership lock (a PostgreSQL advisory lock on a connection of its own,
or on SQLite an flock on a file beside the database) and runs the jobs; the others wait as
hot standbys and take over when the leader's process ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app
from flask.cli import AppGroup

from eldercare.extensions import db

log = logging.getLogger(__name__)

#: The advisory-lock key of the scheduler: the first 64 bits of SHA-256("eldercare-scheduler").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"eldercare-scheduler").digest()[:8], "big", signed=True)


# --- the jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """A scheduled job: the function to call, as "module:function" (imported only when the
    job runs), and when: ``kind`` "daily" at a local "HH:MM" (in TIMEZONE) or "interval" every
    so many seconds, given by the config key ``setting`` or else by ``when``.

    The function is called inside an app context with one keyword argument, ``now`` (an
    aware UTC datetime); it commits its own work, may be repeated safely, and returns a count.
    """

    name: str
    target: str
    kind: Literal["daily", "interval"]
    setting: str | None = None
    when: str | int | None = None

    def schedule(self, config: Mapping[str, Any]) -> str | int:
        value = config[self.setting] if self.setting else self.when
        if value is None:
            raise ValueError(f"job {self.name}: no time given")
        return value

    def trigger(self, config: Mapping[str, Any]) -> BaseTrigger:
        zone = ZoneInfo(config["TIMEZONE"])
        value = self.schedule(config)
        if self.kind == "daily":
            hour, minute = parse_clock(str(value), self.setting or self.name)
            return CronTrigger(hour=hour, minute=minute, timezone=zone)
        seconds = int(value)
        if seconds < 1:
            raise ValueError(f"{self.setting or self.name}: an interval of at least 1 second")
        return IntervalTrigger(seconds=seconds, timezone=zone)

    def describe(self, config: Mapping[str, Any]) -> str:
        value = self.schedule(config)
        if self.kind == "daily":
            hour, minute = parse_clock(str(value), self.setting or self.name)
            return f"daily at {hour:02d}:{minute:02d} ({config['TIMEZONE']})"
        return f"every {int(value)} s"

    def misfire_grace_time(self, config: Mapping[str, Any]) -> int:
        # A daily run held up (host suspended, clock jump) still runs within three hours; an
        # interval run late by a whole interval is skipped, the next one is due anyway.
        return 3 * 3600 if self.kind == "daily" else int(self.schedule(config))

    def resolve(self) -> Callable[..., int]:
        return import_target(self.target)


JOBS: list[Job] = [
    Job(
        "visits-digest",
        "eldercare.visits.tasks:send_daily_digests",
        "daily",
        setting="VISIT_DIGEST_TIME",
    ),
    Job(
        "visits-overdue",
        "eldercare.visits.tasks:remind_overdue",
        "daily",
        setting="VISIT_OVERDUE_TIME",
    ),
    Job(
        "visits-escalate",
        "eldercare.visits.tasks:escalate_overdue",
        "daily",
        setting="VISIT_ESCALATION_TIME",
    ),
    Job(
        "outbox-dispatch",
        "eldercare.notifications.tasks:dispatch_outbox",
        "interval",
        setting="OUTBOX_DISPATCH_SECONDS",
    ),
    Job("beds-expire", "eldercare.beds.tasks:expire_reservations", "interval", when=5 * 60),
    Job(
        "ratings-expiry",
        "eldercare.ratings.tasks:remind_expiring",
        "daily",
        setting="RATING_EXPIRY_TIME",
    ),
    # A rating result whose public notice is over (objections all answered) is published.
    Job(
        "ratings-publish",
        "eldercare.ratings.tasks:publish_due",
        "daily",
        setting="RATING_PUBLISH_TIME",
    ),
    # After midnight: the dead are stopped before notices that ended yesterday activate.
    Job(
        "subsidies-stop-deceased",
        "eldercare.subsidies.tasks:stop_deceased",
        "daily",
        when="00:15",
    ),
    Job("subsidies-activate", "eldercare.subsidies.tasks:activate_due", "daily", when="00:20"),
    Job("subsidies-reminders", "eldercare.subsidies.tasks:send_reminders", "daily", when="08:45"),
    # Requests nobody answered lapse at their start; families hear of tomorrow's bookings.
    Job("bookings-expire", "eldercare.bookings.tasks:expire_requests", "interval", when=15 * 60),
    Job("bookings-remind", "eldercare.bookings.tasks:send_reminders", "daily", when="10:00"),
    Job(
        "bookings-deceased",
        "eldercare.bookings.tasks:cancel_for_the_deceased",
        "daily",
        when="00:25",
    ),
    # The county overviews people look at, recomputed before anybody has to wait for them.
    Job(
        "overview-refresh",
        "eldercare.dashboard.tasks:refresh",
        "interval",
        setting="OVERVIEW_REFRESH_SECONDS",
    ),
]


def import_target(path: str) -> Any:
    """The object named by "package.module:attribute"."""
    module_name, _, attribute = path.partition(":")
    if not attribute:
        raise ValueError(f"{path!r}: expected 'module:attribute'")
    return getattr(importlib.import_module(module_name), attribute)


def parse_clock(text: str, what: str) -> tuple[int, int]:
    """A time of day in the settings, "07:30", as (7, 30)."""
    hour, sep, minute = text.strip().partition(":")
    if sep and hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
        return int(hour), int(minute)
    raise ValueError(f"{what}: {text!r} is not a time of day like 07:30")


def configured_jobs(app: Flask) -> list[Job]:
    """SCHEDULER_JOBS (a list, or "module:attribute" naming one), else JOBS."""
    jobs = app.config.get("SCHEDULER_JOBS") or JOBS
    if isinstance(jobs, str):
        jobs = import_target(jobs)
    jobs = list(jobs)
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    for job in jobs:
        job.trigger(app.config)  # a bad time in the settings stops the start, not a run later
    return jobs


def _jobs_or_exit(app: Flask) -> list[Job]:
    try:
        return configured_jobs(app)
    except (ValueError, ImportError, AttributeError) as err:
        raise click.ClickException(f"scheduler settings: {err}") from None


def execute(app: Flask, job: Job, now: datetime | None = None) -> int:
    """Run a job once, in an app context of its own, logged. On an error the session is
    rolled back, the traceback logged, and the error raised again."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    with app.app_context():
        started = time.monotonic()
        log.info("job %s: start (now %s)", job.name, now.isoformat(timespec="seconds"))
        try:
            count = job.resolve()(now=now)
        except Exception:
            log.exception("job %s: failed after %.2f s", job.name, time.monotonic() - started)
            db.session.rollback()
            raise
        log.info("job %s: done, count %s, %.2f s", job.name, count, time.monotonic() - started)
        return count


#: A daily job that failed (the database was away, say) is tried again this much later, and
#: again, until it succeeds: its day's reminders must not wait for tomorrow.
RETRY_AFTER = timedelta(minutes=15)


def run_scheduled(app: Flask, job: Job, scheduler: BaseScheduler | None = None) -> None:
    """What the scheduler calls: a failed run is logged by execute and the scheduler goes on;
    a failed daily job is tried again after RETRY_AFTER (every job is idempotent)."""
    try:
        execute(app, job)
    except Exception:
        if scheduler is not None and job.kind == "daily":
            scheduler.add_job(
                run_scheduled,
                "date",
                run_date=datetime.now(UTC) + RETRY_AFTER,
                args=(app, job, scheduler),
                id=f"{job.name}-retry",
                name=f"{job.name} (retry)",
                replace_existing=True,
                misfire_grace_time=None,
            )
            log.warning("job %s: tried again at the latest in %s", job.name, RETRY_AFTER)


# --- leadership ----------------------------------------------------------------------------


class LeaderLock(Protocol):
    """Held by at most one process at a time; lost, at the latest, when its process ends."""

    def acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...
    def close(self) -> None: ...


class FileLeaderLock:
    """Leadership on SQLite: an exclusive flock on a file beside the database. The kernel drops
    it when the process ends, however it ends. The file holds the leader's pid."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        if not self.held():  # the file was replaced between open and flock
            self.release()
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return True

    def held(self) -> bool:
        """Still ours: the path still names the file we locked (not deleted or replaced, which
        would let another copy lock a new file)."""
        if self._fd is None:
            return False
        try:
            ours, there = os.fstat(self._fd), os.stat(self.path)
        except OSError:
            return False
        return (ours.st_dev, ours.st_ino) == (there.st_dev, there.st_ino)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None

    close = release


class AdvisoryLeaderLock:
    """Leadership on PostgreSQL: a session advisory lock on a connection of its own (not from
    the request pool), kept for the life of the process. The server drops the lock when that
    session ends, however the process ends; TCP keepalives on both sides notice a dead peer
    within about half a minute."""

    HELD = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND pid = pg_backend_pid() AND classid::bigint = :high AND objid::bigint = :low"
        " AND objsubid = 1"
    )

    def __init__(self, url: sa.URL | str, key: int = LOCK_KEY) -> None:
        self.key = key
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.NullPool,
            isolation_level="AUTOCOMMIT",  # never idle in a transaction
            hide_parameters=True,
            connect_args={
                "application_name": "eldercare-scheduler",
                "connect_timeout": 10,
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
                # The server's side: a leader whose host vanished loses the lock in ~25 s.
                "options": "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5"
                " -c tcp_keepalives_count=3 -c statement_timeout=10000",
            },
        )
        self._connection: sa.Connection | None = None
        self._held = False

    def acquire(self) -> bool:
        if self._connection is None:
            self._connection = self.engine.connect()
        try:
            got = self._connection.scalar(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        except sa.exc.DBAPIError:
            self.release()
            raise
        self._held = bool(got)
        return self._held

    def held(self) -> bool:
        """The lock connection answers and the server still lists our lock as granted."""
        if not self._held or self._connection is None:
            return False
        try:
            count = self._connection.scalar(
                self.HELD, {"high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF}
            )
        except sa.exc.DBAPIError as err:
            log.warning("the leadership lock connection failed: %s", err.orig or err)
            return False
        return count == 1

    def release(self) -> None:
        """Close the lock's session: the lock, if we still had it, is gone with it."""
        self._held = False
        if self._connection is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._connection.close()
            self._connection = None

    def close(self) -> None:
        self.release()
        self.engine.dispose()


def leader_lock(app: Flask) -> LeaderLock:
    """The leadership lock for the app's database."""
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return AdvisoryLeaderLock(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            return FileLeaderLock(url.database + ".scheduler-lock")
        os.makedirs(app.instance_path, exist_ok=True)
        return FileLeaderLock(os.path.join(app.instance_path, "eldercare.scheduler-lock"))
    raise click.ClickException(f"no leadership lock for {url.get_backend_name()} databases")


# --- the process ---------------------------------------------------------------------------


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
            args=(app, job, scheduler),
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=job.misfire_grace_time(app.config),
            next_run_time=catch_up_time(job, app.config, now),
        )

    def watch() -> None:
        while not stop.wait(poll):
            if not lock.held():
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


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s",
    )
    # Our lines say when the scheduler and each job start and end; APScheduler's INFO lines
    # would repeat them (its warnings, such as a missed run, still show).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def parse_now(text: str, zone: str) -> datetime:
    """An ISO datetime; without an offset it is local time in ``zone``. Returned in UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO datetime", param_hint="--now") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(UTC)


# --- commands ------------------------------------------------------------------------------

scheduler_cli = AppGroup("scheduler", help="The scheduler process and its jobs.")


@scheduler_cli.command("run")
def run() -> None:
    """Run the jobs on their schedules. Run one copy per deployment; a second copy waits as a
    hot standby and takes over when the leader stops."""
    configure_logging()
    app = current_app._get_current_object()
    jobs = _jobs_or_exit(app)
    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        log.info("%s: stopping once the running jobs finish", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_scheduler(app, jobs, stop)


@scheduler_cli.command("run-job")
@click.argument("name")
@click.option(
    "--now",
    "now_text",
    metavar="ISO-DATETIME",
    help="The time the job takes as now (local time in TIMEZONE without an offset).",
)
def run_job(name: str, now_text: str | None) -> None:
    """Run one job once, now, whether or not a scheduler is running (jobs are idempotent)."""
    configure_logging()
    app = current_app._get_current_object()
    jobs = {job.name: job for job in _jobs_or_exit(app)}
    if name not in jobs:
        raise click.ClickException(f"no job {name!r}; the jobs: {', '.join(jobs)}")
    now = parse_now(now_text, app.config["TIMEZONE"]) if now_text else None
    try:
        count = execute(app, jobs[name], now)
    except Exception:
        raise click.ClickException(f"job {name} failed (traceback above)") from None
    click.echo(f"{name}: {count}")


@scheduler_cli.command("jobs")
def list_jobs() -> None:
    """List the jobs, their schedules and next run times."""
    config = current_app.config
    now = datetime.now(ZoneInfo(config["TIMEZONE"]))
    for job in _jobs_or_exit(current_app):
        following = job.trigger(config).get_next_fire_time(None, now)
        click.echo(
            f"{job.name:<16} {job.describe(config):<32} "
            f"next {following:%Y-%m-%d %H:%M:%S %Z}  {job.target}"
        )
