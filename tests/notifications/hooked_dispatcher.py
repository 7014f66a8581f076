"""`flask outbox dispatch` with a hook at a chosen point, for the fault tests: at that point
the process writes a marker file ``<HOOK_DIR>/<point>-<message id>`` and waits until the file
``<HOOK_DIR>/release`` exists (the test kills it meanwhile, or releases it).

    HOOK_POINT=before-send   the dispatcher recorded the attempt, the send not begun
    HOOK_POINT=after-accept  the channel accepted the message, its answer not yet committed

Run as ``python tests/notifications/hooked_dispatcher.py [dispatch options]``.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from eldercare.notifications import tasks  # noqa: E402

HOOK_DIR = pathlib.Path(os.environ["HOOK_DIR"])
POINT = os.environ["HOOK_POINT"]


def _hold(point: str, message_id: int) -> None:
    (HOOK_DIR / f"{point}-{message_id}").touch()
    while not (HOOK_DIR / "release").exists():
        time.sleep(0.02)


_attempt, _record_result = tasks._attempt, tasks._record_result


def attempt(message):
    if POINT == "before-send":
        _hold(POINT, message.id)
    return _attempt(message)


def record_result(message, attempt_id, attempts, error, now):
    if POINT == "after-accept" and error is None:
        _hold(POINT, message.id)
    return _record_result(message, attempt_id, attempts, error, now)


tasks._attempt, tasks._record_result = attempt, record_result

if __name__ == "__main__":
    from flask.cli import main

    sys.argv = ["flask", "outbox", "dispatch", *sys.argv[1:]]
    main()
