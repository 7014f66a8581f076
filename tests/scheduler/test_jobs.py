"""The scheduler's jobs: the registry and its settings, the job runner, and the commands."""

from __future__ import annotations

import inspect
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from eldercare.beds import operations as beds
from eldercare.beds.models import Bed, Reservation
from eldercare.beds.tasks import expire_reservations
from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.scheduler import JOBS, Job, configured_jobs, execute, run_scheduled
from tests.scheduler.jobs import ROLLED_BACK_REGION

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def output(tmp_path, monkeypatch):
    """The file the test jobs append "pid now" lines to."""
    path = tmp_path / "runs.txt"
    monkeypatch.setenv("SCHEDULER_TEST_OUTPUT", str(path))
    return path


@pytest.fixture
def caplog(caplog, monkeypatch):
    """caplog, with the scheduler's log on: the migrations' logging.config.fileConfig (run
    by the app fixture in this process) disabled every logger that existed before."""
    monkeypatch.setattr(logging.getLogger("eldercare.scheduler"), "disabled", False)
    caplog.set_level(logging.INFO, logger="eldercare.scheduler")
    return caplog


@pytest.fixture
def test_jobs(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_JOBS", "tests.scheduler.jobs:JOBS")


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.name)
def test_every_job_is_a_function_taking_now(job):
    function = job.resolve()
    assert callable(function)
    inspect.signature(function).bind(now=datetime.now(UTC))


def test_the_schedule_has_its_defaults_in_local_time(app):
    jobs = {job.name: job for job in configured_jobs(app)}
    assert list(jobs) == [
        "visits-digest",
        "visits-overdue",
        "visits-escalate",
        "outbox-dispatch",
        "beds-expire",
        "ratings-expiry",
        "ratings-publish",
        "beds-repair",
        "daycare-repair",
        "visits-repair",
        "subsidies-repair",
        "subsidies-activate",
        "subsidies-existence",
        "subsidies-reminders",
        "bookings-expire",
        "bookings-remind",
        "bookings-repair",
        "overview-refresh",
    ]
    # The repair sweeps, and only they, count what they repaired.
    assert [job.name for job in jobs.values() if job.repairs] == [
        "beds-repair",
        "daycare-repair",
        "visits-repair",
        "subsidies-repair",
        "bookings-repair",
    ]
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=SHANGHAI)
    for name, hour, minute in [
        ("visits-digest", 7, 30),
        ("visits-overdue", 8, 0),
        ("visits-escalate", 8, 30),
        ("ratings-expiry", 9, 0),
        ("ratings-publish", 0, 30),
        ("beds-repair", 0, 10),
        ("daycare-repair", 0, 12),
        ("visits-repair", 0, 14),
        ("subsidies-repair", 0, 15),
        ("subsidies-activate", 0, 20),
        ("subsidies-existence", 8, 30),
        ("subsidies-reminders", 8, 45),
        ("bookings-remind", 10, 0),
        ("bookings-repair", 0, 25),
    ]:
        fires = jobs[name].trigger(app.config).get_next_fire_time(None, noon)
        assert fires == datetime(2026, 3, 2, hour, minute, tzinfo=SHANGHAI)
        assert fires.astimezone(UTC).day == 1 + (hour >= 8)  # 07:30 Beijing is 23:30 UTC
    assert jobs["outbox-dispatch"].trigger(app.config).interval == timedelta(seconds=20)
    assert jobs["beds-expire"].trigger(app.config).interval == timedelta(minutes=5)
    assert jobs["bookings-expire"].trigger(app.config).interval == timedelta(minutes=15)


def test_the_schedule_follows_the_settings(app, monkeypatch):
    monkeypatch.setitem(app.config, "VISIT_DIGEST_TIME", "6:05")
    monkeypatch.setitem(app.config, "OUTBOX_DISPATCH_SECONDS", 45)
    jobs = {job.name: job for job in configured_jobs(app)}
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=SHANGHAI)
    digest = jobs["visits-digest"].trigger(app.config).get_next_fire_time(None, noon)
    assert digest == datetime(2026, 3, 2, 6, 5, tzinfo=SHANGHAI)
    assert jobs["outbox-dispatch"].trigger(app.config).interval == timedelta(seconds=45)

    monkeypatch.setitem(app.config, "VISIT_DIGEST_TIME", "6.05")
    with pytest.raises(ValueError, match="VISIT_DIGEST_TIME"):
        configured_jobs(app)


def test_the_job_list_can_be_replaced_by_name(app, test_jobs):
    assert [job.name for job in configured_jobs(app)] == ["append-line"]


def test_a_job_runs_with_now_in_utc_and_returns_its_count(app, output, caplog):
    job = Job("append-line", "tests.scheduler.jobs:append_line", "interval", when=1)
    at = datetime(2026, 3, 1, 8, 0, tzinfo=SHANGHAI)
    assert execute(app, job, now=at) == 1
    assert output.read_text().split()[1] == "2026-03-01T00:00:00+00:00"
    assert "job append-line: start" in caplog.text
    assert "job append-line: done, count 1" in caplog.text


def test_the_runner_survives_a_failing_job_and_rolls_its_work_back(app, caplog):
    job = Job("fail", "tests.scheduler.jobs:write_then_fail", "interval", when=1)
    run_scheduled(app, job)  # does not raise
    assert "job fail: failed after" in caplog.text
    assert "RuntimeError: the job broke" in caplog.text  # with its traceback
    assert db.session.scalar(sa.select(Region).where(Region.code == ROLLED_BACK_REGION)) is None
    # A job that cannot even be imported is logged the same way.
    run_scheduled(app, Job("missing", "tests.scheduler.nowhere:job", "interval", when=1))
    assert "job missing: failed after" in caplog.text


def test_run_job_passes_now_to_the_job(app, test_jobs, output):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["scheduler", "run-job", "append-line", "--now", "2026-03-01T08:00:00+08:00"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "append-line: 1"
    # Without an offset, --now is local time (Asia/Shanghai).
    runner.invoke(args=["scheduler", "run-job", "append-line", "--now", "2026-03-01 09:15"])
    times = [line.split()[1] for line in output.read_text().splitlines()]
    assert times == ["2026-03-01T00:00:00+00:00", "2026-03-01T01:15:00+00:00"]


def test_run_job_refuses_unknown_names_and_bad_times(app, test_jobs, output):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["scheduler", "run-job", "no-such-job"])
    assert unknown.exit_code != 0
    assert "append-line" in unknown.output
    bad = runner.invoke(args=["scheduler", "run-job", "append-line", "--now", "yesterday"])
    assert bad.exit_code != 0
    assert not output.exists()


def test_run_job_fails_when_the_job_fails(app, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "SCHEDULER_JOBS",
        [Job("fail", "tests.scheduler.jobs:write_then_fail", "daily", when="03:00")],
    )
    result = app.test_cli_runner().invoke(args=["scheduler", "run-job", "fail"])
    assert result.exit_code == 1
    assert "job fail failed" in result.output


def test_jobs_lists_every_job_and_its_trigger(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "jobs"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(JOBS)
    assert lines[0].startswith("visits-digest")
    assert "daily at 07:30 (Asia/Shanghai)" in lines[0]
    assert "eldercare.visits.tasks:send_daily_digests" in lines[0]
    assert "every 20 s" in lines[3]
    assert "every 300 s" in lines[4]


def test_beds_expire_ends_the_reservations_run_out_by_now(app, world, make_room, make_bed):
    operator = world.user("operator")
    bed = make_bed(make_room(world.facility_a))
    beds.reserve(bed, "王先生", utcnow() + timedelta(hours=1), operator)
    assert expire_reservations(now=utcnow()) == 0
    # The job takes its time from the scheduler (or from run-job --now): two hours on, it ends.
    later = (utcnow() + timedelta(hours=2)).isoformat()
    result = app.test_cli_runner().invoke(
        args=["scheduler", "run-job", "beds-expire", "--now", later]
    )
    assert result.output.strip() == "beds-expire: 1"
    db.session.expire_all()
    assert db.session.get(Bed, bed.id).status == "vacant"
    reservation = db.session.scalar(sa.select(Reservation).where(Reservation.bed_id == bed.id))
    assert reservation.end_reason == "expired"


def test_a_daily_job_catches_up_only_once_its_time_of_day_has_passed():
    from zoneinfo import ZoneInfo

    from eldercare.scheduler import catch_up_time

    zone = ZoneInfo("Asia/Shanghai")
    digest = Job("digest", "tests.scheduler.jobs:append_line", "daily", when="07:30")
    config = {"TIMEZONE": "Asia/Shanghai"}
    at_two = datetime(2026, 12, 1, 2, 0, tzinfo=zone)
    at_nine = datetime(2026, 12, 1, 9, 0, tzinfo=zone)
    # Restarted at 02:00: the digest waits for 07:30 (never an SMS at two in the morning).
    assert catch_up_time(digest, config, at_two) == datetime(2026, 12, 1, 7, 30, tzinfo=zone)
    # Restarted at 09:00 after days down: today's missed digest goes out at once.
    assert catch_up_time(digest, config, at_nine) == at_nine
    every = Job("dispatch", "tests.scheduler.jobs:append_line", "interval", when=20)
    assert catch_up_time(every, config, at_two) == at_two


def test_a_failed_daily_job_is_tried_again_later(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    failing = Job("digest", "tests.scheduler.nowhere:job", "daily", when="07:30")
    run_scheduled(app, failing, scheduler)
    [retry] = scheduler.get_jobs()
    assert retry.id == "digest-retry" and retry.args[1] is failing
    # An interval job is simply due again at its next interval.
    run_scheduled(app, Job("x", "tests.scheduler.nowhere:job", "interval", when=5), scheduler)
    assert len(scheduler.get_jobs()) == 1
