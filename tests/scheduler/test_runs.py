"""Every run of a job is recorded (JobRun), a failed one too; administrators see each job's
last run, a repair sweep's count standing out when not 0, and the runs of one job;
``flask sweeps`` runs every repair sweep once and prints what each repaired."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.scheduler import JOBS, Job, execute, repair_jobs, run_scheduled, sweeps
from eldercare.scheduler.models import ERROR_LENGTH, KEEP_DAYS, JobRun
from tests.scheduler.helpers import add_run
from tests.scheduler.jobs import ROLLED_BACK_REGION


@pytest.fixture(autouse=True)
def _quiet_scheduler_log(monkeypatch):
    # The migrations' fileConfig disabled the logger; the runs log as in production.
    monkeypatch.setattr(logging.getLogger("eldercare.scheduler"), "disabled", False)


def runs_of(name: str) -> list[JobRun]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(JobRun).where(JobRun.job == name).order_by(JobRun.id)))


def test_a_run_is_recorded_with_its_count_time_and_process(app):
    job = Job(
        "quiet-repair", "tests.scheduler.jobs:repaired_three", "daily", when="00:10", repairs=True
    )
    old = add_run("quiet-repair", started_at=datetime.now(UTC) - timedelta(days=KEEP_DAYS + 1))
    kept = add_run("quiet-repair", started_at=datetime.now(UTC) - timedelta(days=KEEP_DAYS - 1))
    other = add_run("beds-expire", started_at=old.started_at)
    db.session.commit()
    before = datetime.now(UTC)
    assert execute(app, job, now=datetime(2026, 3, 1, tzinfo=UTC)) == 3
    # Runs older than KEEP_DAYS go (of this job; another job's go at its next run).
    assert [r.id for r in runs_of("quiet-repair")][:1] == [kept.id]
    assert [r.id for r in runs_of("beds-expire")] == [other.id]
    run = runs_of("quiet-repair")[-1]
    assert (run.ok, run.count, run.error, run.repairs, run.repaired) == (True, 3, "", True, 3)
    assert before <= run.started_at <= run.finished_at <= datetime.now(UTC)
    assert run.pid > 0 and run.host
    assert run.colour == "warning"  # a sweep that repaired something stands out


def test_a_failed_run_is_recorded_after_its_work_is_rolled_back(app):
    run_scheduled(app, Job("fail", "tests.scheduler.jobs:write_then_fail", "interval", when=1))
    assert db.session.scalar(sa.select(Region).where(Region.code == ROLLED_BACK_REGION)) is None
    (run,) = runs_of("fail")
    assert (run.ok, run.count) == (False, None)
    assert run.error == "RuntimeError: the job broke"
    assert run.colour == "danger" and run.repaired == 0
    # A job that cannot be imported, or whose error is long, is recorded the same way.
    run_scheduled(app, Job("missing", "tests.scheduler.nowhere:job", "interval", when=1))
    assert runs_of("missing")[0].error.startswith("ModuleNotFoundError")
    with pytest.raises(RuntimeError):
        execute(app, Job("long", "tests.scheduler.jobs:broken_sweep", "daily", when="00:10"))
    assert len(runs_of("long")[0].error) == ERROR_LENGTH


def test_the_page_shows_each_job_its_last_run_and_what_a_sweep_repaired(app, client, auth, world):
    add_run("bookings-repair", count=0, started_at=datetime(2026, 12, 1, 16, 25, tzinfo=UTC))
    add_run("bookings-repair", count=3, started_at=datetime(2026, 12, 2, 16, 25, tzinfo=UTC))
    add_run("visits-digest", ok=False, error="OperationalError: the database went away")
    add_run("beds-expire", count=7)
    auth.login_as(world.user("admin"))
    page = client.get("/admin/jobs/").get_data(as_text=True)
    for job in JOBS:
        assert f'id="job-{job.name}"' in page
    assert page.count("上次修复 3 项") == 1  # the last run of the bookings sweep only
    assert "每天 00:25" in page and "每 5 分钟" in page and "每 20 秒" in page
    assert "2026-12-03 00:25:00" in page  # local time
    assert "OperationalError: the database went away" in page and "失败" in page
    assert "尚未运行" in page  # jobs that have not run yet
    runs = client.get("/admin/jobs/bookings-repair").get_data(as_text=True)
    assert runs.count('id="run-') == 2 and "修复 3 项" in runs
    assert "sched-1 · 4242" in runs
    assert client.get("/admin/jobs/no-such-job").status_code == 404


def test_the_page_is_for_administrators_only(client, auth, world):
    for role in ("county_staff", "operator", "family"):
        auth.login_as(world.user(role))
        assert client.get("/admin/jobs/").status_code == 403


def test_flask_sweeps_runs_every_repair_sweep_once_and_records_it(app, monkeypatch, output):
    monkeypatch.setitem(app.config, "SCHEDULER_JOBS", "tests.scheduler.jobs:SWEEPS")
    result = app.test_cli_runner().invoke(sweeps)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["bookings-repair: 0", "quiet-repair: 0", "total: 0"]
    assert not output.exists()  # a job that is no repair sweep did not run
    assert [r.count for r in runs_of("bookings-repair")] == [0]
    assert [r.count for r in runs_of("quiet-repair")] == [0]


def test_flask_sweeps_goes_on_after_a_failing_sweep_and_says_so(app, monkeypatch):
    monkeypatch.setitem(
        app.config,
        "SCHEDULER_JOBS",
        [
            Job(
                "a-repair", "tests.scheduler.jobs:broken_sweep", "daily", when="00:10", repairs=True
            ),
            Job(
                "b-repair",
                "tests.scheduler.jobs:repaired_three",
                "daily",
                when="00:11",
                repairs=True,
            ),
        ],
    )
    result = app.test_cli_runner().invoke(sweeps)
    assert result.exit_code == 1
    assert "a-repair: failed" in result.output and "b-repair: 3" in result.output
    assert "total: 3" in result.output and "sweeps failed: a-repair" in result.output


def test_flask_sweeps_on_a_healthy_database_prints_zeros(app):
    """The registry's own sweeps (every feature's repair_departed) find nothing to repair."""
    result = app.test_cli_runner().invoke(sweeps)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [f"{job.name}: 0" for job in repair_jobs(JOBS)] + ["total: 0"]


@pytest.fixture
def output(tmp_path, monkeypatch):
    path = tmp_path / "runs.txt"
    monkeypatch.setenv("SCHEDULER_TEST_OUTPUT", str(path))
    return path


class LockHeldFor:
    """A leadership lock that answers "held" ``n`` times, then is lost."""

    def __init__(self, n: int) -> None:
        self.answers = n

    def held(self) -> bool:
        self.answers -= 1
        return self.answers >= 0


LOOP = Job("loop", "tests.scheduler.jobs:items_until_stopped", "interval", when=1)


def test_a_job_stops_between_items_once_the_leadership_is_lost(app):
    # Asked before the run (1), then before each item: lost before the fourth.
    run_scheduled(app, LOOP, lock=LockHeldFor(4))
    assert [r.count for r in runs_of("loop")] == [3]
    run_scheduled(app, LOOP, lock=LockHeldFor(0))  # lost already: the job does not run
    assert [r.count for r in runs_of("loop")] == [3]


def test_a_job_stops_between_items_on_sigterm(app):
    import threading

    stop = threading.Event()
    run_scheduled(app, LOOP, lock=LockHeldFor(1000), stop=stop)
    # Asked before the run, then before each item: SIGTERM arrives during the second item.
    checks = iter([False, False, False, True])
    with_stop = type("Stop", (), {"is_set": lambda self: next(checks)})()
    run_scheduled(app, LOOP, lock=LockHeldFor(1000), stop=with_stop)
    stop.set()
    run_scheduled(app, LOOP, lock=LockHeldFor(1000), stop=stop)  # stopping: not started
    assert [r.count for r in runs_of("loop")] == [100, 2]
