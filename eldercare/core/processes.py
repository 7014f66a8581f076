"""What the long-running processes share (the scheduler, the outbox dispatchers): their log
lines, SIGTERM and SIGINT as a request to stop, and asking a long loop to stop between two
items. The scheduler or a dispatcher says when the work it runs should end early (SIGTERM, or
the leadership lock lost), and a loop over messages or rows asks ``stop_requested()`` before
each item and returns cleanly.

The check is a context variable: set by the thread that runs the job, seen only by the code
that job calls, so two jobs in two threads never stop each other.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_check: ContextVar[Callable[[], bool] | None] = ContextVar("eldercare_stop_check", default=None)


@contextmanager
def stop_when(check: Callable[[], bool]) -> Iterator[None]:
    """While inside, ``stop_requested()`` answers ``check()`` (in this thread only)."""
    token = _check.set(check)
    try:
        yield
    finally:
        _check.reset(token)


def stop_requested() -> bool:
    """Whether the work this thread runs should stop before its next item (False when nobody
    asked: a web request, a test, a command run by hand)."""
    check = _check.get()
    return bool(check and check())


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s",
    )
    # Our lines say when the scheduler and each job start and end; APScheduler's INFO lines
    # would repeat them (its warnings, such as a missed run, still show).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def stop_on_signals(log: logging.Logger, what: str) -> threading.Event:
    """An event set by SIGTERM or SIGINT (call it in the main thread): the process finishes
    the item it is on, then stops."""
    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        log.info("%s: stopping once %s", signal.Signals(signum).name, what)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
