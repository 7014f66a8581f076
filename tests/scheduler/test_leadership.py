"""One leader among the scheduler's copies: the locks, a leader's term, and real processes
racing for the lead (PostgreSQL advisory lock, or on SQLite a file lock)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from eldercare.scheduler import (
    LOCK_KEY,
    AdvisoryLeaderLock,
    FileLeaderLock,
    Job,
    lead,
    runner,
)
from tests.concurrency import committed_app, process_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
on_postgres = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


# --- the locks -----------------------------------------------------------------------------


def test_the_file_lock_has_one_holder_and_passes_on_when_released(tmp_path):
    path = str(tmp_path / "eldercare.db.scheduler-lock")
    first, second = FileLeaderLock(path), FileLeaderLock(path)
    assert first.acquire()
    assert not second.acquire()
    assert first.held() and not second.held()
    with open(path) as lock_file:
        assert lock_file.read().strip() == str(os.getpid())
    first.release()
    assert not first.held()
    assert second.acquire()
    second.release()


def test_a_leader_whose_lock_file_is_removed_no_longer_leads(tmp_path):
    # Removed, the path could be locked afresh by another copy: two leaders. Not so.
    path = tmp_path / "eldercare.db.scheduler-lock"
    lock = FileLeaderLock(str(path))
    assert lock.acquire()
    path.unlink()
    assert not lock.held()
    lock.release()


@pytest.mark.postgres
@on_postgres
def test_the_advisory_lock_has_one_holder_and_is_lost_with_its_session(app):
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    first, second = AdvisoryLeaderLock(url), AdvisoryLeaderLock(url)
    try:
        assert first.acquire()
        assert not second.acquire()
        assert first.held() and not second.held()
        # The session holding it dies (as when the leader's process or host does): the lock
        # goes with it, the leader notices, and the standby can take it. Only that session
        # is ended: the same lock is held in the databases of tests running beside this one.
        holder = first._connection.scalar(sa.text("SELECT pg_backend_pid()"))
        with first.engine.connect() as admin:
            ended = admin.scalar(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND pid = :pid AND classid::bigint = :high"
                    " AND objid::bigint = :low AND database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {
                    "pid": holder,
                    "high": (LOCK_KEY >> 32) & 0xFFFFFFFF,
                    "low": LOCK_KEY & 0xFFFFFFFF,
                },
            )
        assert ended
        assert not first.held()
        wait_for(second.acquire, 5, "the standby to get the lock")
        assert second.held()
        first.release()
        assert not first.acquire()
    finally:
        first.close()
        second.close()


# --- a leader's term -----------------------------------------------------------------------


class FakeLock:
    def __init__(self) -> None:
        self.lost = threading.Event()

    def acquire(self) -> bool:
        return True

    def held(self) -> bool:
        return not self.lost.is_set()

    def release(self) -> None: ...

    def close(self) -> None: ...


@pytest.fixture
def term(app, monkeypatch, tmp_path, caplog):
    """Start ``lead`` in a thread with the given jobs (poll: 1 s); the output file, the stop
    event, the lock and the thread."""
    monkeypatch.setitem(app.config, "SCHEDULER_STANDBY_POLL_SECONDS", 1)
    monkeypatch.setattr(logging.getLogger("eldercare.scheduler"), "disabled", False)
    caplog.set_level(logging.INFO, logger="eldercare.scheduler")
    # The runs are not recorded here: the leader's threads would share the test's one
    # connection (in production each has its own); test_runs.py checks the recording.
    monkeypatch.setattr(runner, "_record", lambda *args, **kwargs: None)
    output = tmp_path / "runs.txt"
    monkeypatch.setenv("SCHEDULER_TEST_OUTPUT", str(output))
    stop, lock, threads = threading.Event(), FakeLock(), []

    def start(jobs: list[Job]):
        thread = threading.Thread(target=lead, args=(app, jobs, lock, stop), daemon=True)
        thread.start()
        threads.append(thread)
        return output, stop, lock, thread

    yield start
    stop.set()
    for thread in threads:
        thread.join(10)


def test_a_new_leader_catches_up_once_and_outlives_failing_runs(term, caplog):
    # A daily job whose time has passed today runs once on taking the lead (the catch-up of
    # a scheduler that was down), and only once; a failing job does not stop the others.
    zone = ZoneInfo("Asia/Shanghai")
    earlier = max(
        datetime.now(zone) - timedelta(hours=1),
        datetime.now(zone).replace(hour=0, minute=0),
    ).strftime("%H:%M")
    output, stop, _lock, thread = term(
        [
            Job("daily", "tests.scheduler.jobs:append_line", "daily", when=earlier),
            Job("fail", "tests.scheduler.jobs:write_then_fail", "interval", when=1),
        ]
    )
    wait_for(lambda: caplog.text.count("job fail: failed") >= 3, 10, "three failed runs")
    assert len(output.read_text().splitlines()) == 1
    assert thread.is_alive()
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_a_leader_that_loses_its_lock_stops_running_jobs(term, caplog):
    output, _stop, lock, thread = term(
        [Job("append-line", "tests.scheduler.jobs:append_line", "interval", when=1)]
    )
    wait_for(output.exists, 10, "the first run")
    lock.lost.set()
    thread.join(10)
    assert not thread.is_alive()
    assert "leadership lock lost" in caplog.text
    runs = len(output.read_text().splitlines())
    time.sleep(1.5)
    assert len(output.read_text().splitlines()) == runs


# --- real processes ------------------------------------------------------------------------


class Copy:
    """A `flask scheduler run` process, its log in a file."""

    def __init__(self, name: str, env: dict[str, str], tmp_path) -> None:
        self.log_path = tmp_path / f"{name}.log"
        with open(self.log_path, "w") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "scheduler", "run"],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        self.pid = self.process.pid

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def writers(output) -> list[int]:
    """The pids of the runs in the output file, in order."""
    if not output.exists():
        return []
    return [int(line.split()[0]) for line in output.read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.no_transaction
def test_two_copies_run_the_jobs_once_and_the_standby_takes_over(tmp_path):
    with committed_app("scheduler", tmp_path) as app:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
    output = tmp_path / "runs.txt"
    env = process_env(
        url,
        tmp_path,
        SCHEDULER_JOBS="tests.scheduler.jobs:JOBS",
        SCHEDULER_STANDBY_POLL_SECONDS="1",
        SCHEDULER_TEST_OUTPUT=str(output),
    )
    copies = [Copy("first", env, tmp_path), Copy("second", env, tmp_path)]
    try:
        wait_for(lambda: len(writers(output)) >= 2, 30, "the leader's runs")
        leader = next(c for c in copies if c.pid == writers(output)[0])
        standby = next(c for c in copies if c is not leader)
        wait_for(lambda: "standby" in standby.log, 15, "the other copy to stand by")
        time.sleep(2.5)  # more than two polls of the standby
        assert set(writers(output)) == {leader.pid}
        assert "leader" in leader.log

        leader.process.send_signal(signal.SIGKILL)
        leader.process.wait(10)
        killed_at, runs_before = time.monotonic(), len(writers(output))
        wait_for(lambda: standby.pid in writers(output), 10, "the standby to take over")
        took = time.monotonic() - killed_at
        assert took < 5, f"took over after {took:.1f} s"
        assert set(writers(output)[runs_before:]) == {standby.pid}
        assert "took over" in standby.log

        standby.process.send_signal(signal.SIGTERM)  # a clean stop
        assert standby.process.wait(10) == 0
        assert "stopped" in standby.log
    finally:
        for copy in copies:
            copy.stop()
    if url.startswith("sqlite"):
        assert os.path.exists(url.removeprefix("sqlite:///") + ".scheduler-lock")


def test_a_copy_that_lost_its_lock_runs_no_job_even_before_its_watch_notices(
    app, monkeypatch, tmp_path, caplog
):
    """Leadership is asked again right before each run (issue 20, item 4): the lock's session
    ended by the server at 01:32:01.2 must not leave the old leader a job at 01:32:02.1."""
    output = tmp_path / "runs.txt"
    monkeypatch.setenv("SCHEDULER_TEST_OUTPUT", str(output))
    monkeypatch.setattr(runner, "_record", lambda *args, **kwargs: None)
    monkeypatch.setattr(logging.getLogger("eldercare.scheduler"), "disabled", False)
    job = Job("append-line", "tests.scheduler.jobs:append_line", "interval", when=1)
    lock = FakeLock()
    runner.run_scheduled(app, job, lock=lock)
    assert len(output.read_text().splitlines()) == 1
    lock.lost.set()
    with caplog.at_level(logging.ERROR, logger="eldercare.scheduler"):
        runner.run_scheduled(app, job, lock=lock)
    assert len(output.read_text().splitlines()) == 1
    assert "no longer holds the leadership lock" in caplog.text


class BrokenConnection:
    """A lock connection after the server restarted: every use raises."""

    def __init__(self, error: Exception) -> None:
        self.error, self.closed = error, False

    def scalar(self, *_args, **_kwargs):
        raise self.error

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "error",
    [
        sa.exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back"),
        sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
    ],
)
def test_a_lock_whose_connection_broke_is_lost_and_starts_afresh(error):
    # Seen in `make faults`: after a PostgreSQL restart the lock's connection raised
    # PendingRollbackError, which killed the watch and left a copy that thought it led.
    lock = AdvisoryLeaderLock("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    broken = BrokenConnection(error)
    lock._connection, lock._held = broken, True
    assert lock.held() is False
    assert broken.closed and lock._connection is None  # the next acquire connects anew
    lock.close()


def test_the_watch_takes_a_failing_check_for_a_lost_lock(app, monkeypatch, caplog):
    class Failing:
        def held(self) -> bool:
            raise RuntimeError("the check itself broke")

    monkeypatch.setitem(app.config, "SCHEDULER_STANDBY_POLL_SECONDS", 1)
    monkeypatch.setattr(logging.getLogger("eldercare.scheduler"), "disabled", False)
    caplog.set_level(logging.INFO, logger="eldercare.scheduler")
    stop = threading.Event()
    thread = threading.Thread(target=lead, args=(app, [], Failing(), stop), daemon=True)
    thread.start()
    thread.join(10)
    stop.set()
    assert not thread.is_alive()  # lead() returned: back to standby, not a stuck leader
    assert "leadership lock check failed" in caplog.text
    assert "leadership lock lost" in caplog.text
