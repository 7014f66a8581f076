"""The commands: ``flask scheduler run``, ``run-job`` and ``jobs``; ``flask sweeps`` (every
repair sweep once, now)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from eldercare.core.processes import configure_logging, stop_on_signals
from eldercare.scheduler.jobs import Job, configured_jobs, repair_jobs
from eldercare.scheduler.runner import execute, run_scheduler

#: One logger for the whole process (operators and tests follow "eldercare.scheduler").
log = logging.getLogger("eldercare.scheduler")


def _jobs_or_exit(app: Flask) -> list[Job]:
    try:
        return configured_jobs(app)
    except (ValueError, ImportError, AttributeError) as err:
        raise click.ClickException(f"scheduler settings: {err}") from None


def parse_now(text: str, zone: str) -> datetime:
    """An ISO datetime; without an offset it is local time in ``zone``. Returned in UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO datetime", param_hint="--now") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.astimezone(UTC)


scheduler_cli = AppGroup("scheduler", help="The scheduler process and its jobs.")


@scheduler_cli.command("run")
def run() -> None:
    """Run the jobs on their schedules. Run one copy per deployment; a second copy waits as a
    hot standby and takes over when the leader stops."""
    configure_logging()
    app = current_app._get_current_object()
    jobs = _jobs_or_exit(app)
    stop = stop_on_signals(log, "the running jobs reach a stopping point")
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


@click.command("sweeps")
@with_appcontext
def sweeps() -> None:
    """Run every repair sweep once, now (recorded like a scheduled run): each prints what it
    repaired, 0 on a healthy database, then the total. Exits 1 if a sweep failed (after
    running the others)."""
    configure_logging()
    app = current_app._get_current_object()
    total, failed = 0, []
    for job in repair_jobs(_jobs_or_exit(app)):
        try:
            count = execute(app, job)
        except Exception:
            failed.append(job.name)
            click.echo(f"{job.name}: failed (traceback above)")
            continue
        total += count
        click.echo(f"{job.name}: {count}")
    click.echo(f"total: {total}")
    if failed:
        raise click.ClickException(f"sweeps failed: {', '.join(failed)}")
