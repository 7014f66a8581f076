"""Jobs for the scheduler's tests: each run of ``append_line`` appends "pid now" to the file
named by $SCHEDULER_TEST_OUTPUT, so a test can tell which process ran it, and with what time."""

from __future__ import annotations

import os
from datetime import datetime

from eldercare.scheduler import Job
from tests.builders import build_region

#: A province code no other test uses: the row the failing job writes before it fails.
ROLLED_BACK_REGION = "650000000000"


def append_line(now: datetime) -> int:
    with open(os.environ["SCHEDULER_TEST_OUTPUT"], "a", encoding="utf-8") as output:
        output.write(f"{os.getpid()} {now.isoformat()}\n")
    return 1


def write_then_fail(now: datetime) -> int:
    build_region(ROLLED_BACK_REGION, "回滚")
    raise RuntimeError("the job broke")


JOBS = [Job("append-line", "tests.scheduler.jobs:append_line", "interval", when=1)]


def nothing_to_repair(now: datetime) -> int:
    return 0


def repaired_three(now: datetime) -> int:
    return 3


def broken_sweep(now: datetime) -> int:
    raise RuntimeError("x" * 5000)


#: Repair sweeps that need no feature's sweep to be written: one real (bookings), one that
#: finds nothing and a job that is no sweep (flask sweeps leaves it out).
SWEEPS = [
    Job(
        "bookings-repair",
        "eldercare.bookings.tasks:repair_departed",
        "daily",
        when="00:25",
        repairs=True,
    ),
    Job(
        "quiet-repair",
        "tests.scheduler.jobs:nothing_to_repair",
        "daily",
        when="00:10",
        repairs=True,
    ),
    Job("append-line", "tests.scheduler.jobs:append_line", "interval", when=1),
]


def items_until_stopped(now: datetime) -> int:
    """A loop over 100 items that asks before each whether to stop: how many it did."""
    from eldercare.core.processes import stop_requested

    for done in range(100):
        if stop_requested():
            return done
    return 100
