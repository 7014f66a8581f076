"""The HTTP load client of the city benchmark: locust, used as a library (its Environment and
local runner, no web UI), in a process of its own (``load.load_in_process`` starts this file
as a script, a JSON spec on stdin, a JSON result on stdout), so that its users never share an
interpreter with the benchmark runner or the server, and locust's gevent patching of the
standard library stays in this process.

Locust does the load: ``concurrency`` users (greenlets), each with its own keep-alive HTTP
client (geventhttpclient; gunicorn's sync workers close the connection after every answer and
the client reconnects, as a browser would), sending the same request with no wait between
answers, each timed from sending to reading the whole answer, and the runner that starts and
stops them. What is written here is what locust does not do:

- A request counts only when its status is the expected one (redirects are not followed);
  any other answer, and any failed connection, is an error, counted by status and sampled.
  Locust records failed requests' times in the same distribution as successful ones, and
  rounds every time into buckets (to 10 ms above 100 ms, to 100 ms above 1 s): the latency
  figures here are of the successful answers alone, exact (``percentile``).
- Every user sends ``warmup`` uncounted requests first, and the measured window opens when all
  have: locust's ``reset_stats`` resets at the end of spawning, which does not wait for them.
- The window ends after ``duration`` seconds, or ``max_requests``; a slow endpoint is loaded
  past ``duration`` until ``min_requests`` were sent (at most six times ``duration``). Locust
  only stops on a run time, so each user asks the tally before every request and stops when it
  is refused, never in the middle of one: no request is left behind to keep a worker busy
  while the next endpoint is measured.

Nothing here imports locust until ``run_load`` runs: the statistics and ``Request`` are
imported by the runner's side and by the tests without it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

#: gunicorn kills a worker whose request takes longer than this...
SERVER_TIMEOUT_S = 300
#: ...so that the client, waiting longer, never leaves a request behind that would still
#: keep a worker busy while the next endpoint is measured: a slow page is slow, not an error.
CLIENT_TIMEOUT_S = 2 * SERVER_TIMEOUT_S + 60
ERROR_SAMPLES = 5
#: The name the warm-up requests go by (not counted).
WARMUP = "warm-up"


# --- statistics ------------------------------------------------------------------------------


def percentile(values, q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between the closest ranks (as
    numpy's default); None for no values."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: list[float]) -> dict:
    """p50/p95/p99/max/mean of latencies given in seconds, in milliseconds (1 decimal)."""

    def ms(value):
        return None if value is None else round(value * 1000, 1)

    return {
        "p50": ms(percentile(seconds, 50)),
        "p95": ms(percentile(seconds, 95)),
        "p99": ms(percentile(seconds, 99)),
        "max": ms(max(seconds) if seconds else None),
        "mean": ms(sum(seconds) / len(seconds) if seconds else None),
    }


# --- the load --------------------------------------------------------------------------------


@dataclass
class Request:
    """One endpoint to load: the same request sent again and again."""

    name: str
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    expect: int = 200


@dataclass
class _Tally:
    """What was sent and how it was answered (one process, one gevent hub: no lock)."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    samples: list[dict] = field(default_factory=list)
    sent: int = 0

    def take(self, limit: int | None, least: int, window: dict[str, float]) -> bool:
        """Claim the right to send one more request: while the window is open (or, past it,
        fewer than ``least`` were sent and the cap is not reached), and fewer than ``limit``
        were sent."""
        now = time.perf_counter()
        if limit is not None and self.sent >= limit:
            return False
        if now >= window["end"] and (self.sent >= least or now >= window["cap"]):
            return False
        self.sent += 1
        return True

    def record(self, seconds: float, status: int | str, ok: bool, detail: str = "") -> None:
        self.statuses[str(status)] += 1
        if ok:
            self.latencies.append(seconds)
        else:
            self.errors += 1
            if len(self.samples) < ERROR_SAMPLES:
                self.samples.append({"status": status, "detail": detail[:300]})


def run_load(
    host: str,
    port: int,
    request: Request | dict,
    *,
    duration: float = 10.0,
    concurrency: int = 4,
    max_requests: int | None = None,
    min_requests: int = 0,
    warmup: int = 1,
    timeout: float = CLIENT_TIMEOUT_S,
) -> dict:
    """Send ``request`` from ``concurrency`` locust users for ``duration`` seconds (or until
    ``max_requests`` are sent, whichever comes first), after ``warmup`` uncounted requests
    per user; a slow endpoint is loaded past ``duration`` until ``min_requests`` are sent,
    for at most six times ``duration``. Importing locust patches this process with gevent:
    call it only in a process of its own (``load.load_in_process``)."""
    import gevent
    from gevent.event import Event
    from locust import FastHttpUser, constant, task
    from locust.env import Environment
    from locust.exception import StopUser

    req = request if isinstance(request, Request) else Request(**request)
    tally = _Tally()
    window: dict[str, float] = {}
    warmed: list[int] = []
    go = Event()

    def open_window() -> None:  # once, when every user has warmed up
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + duration
        window["cap"] = window["start"] + 6 * duration
        go.set()

    class Client(FastHttpUser):
        wait_time = constant(0)
        network_timeout = timeout
        connection_timeout = timeout

        def send(self, name: str) -> None:
            with self.client.request(
                req.method,
                req.path,
                name=name,
                data=req.body,
                headers=req.headers,
                allow_redirects=False,
                catch_response=True,
            ) as answer:
                if answer.status_code == req.expect:
                    answer.success()
                elif answer.status_code:
                    answer.failure(f"{answer.status_code}")
                else:  # no answer: the connection failed
                    answer.failure(type(answer.error).__name__)

        def on_start(self) -> None:
            for _ in range(warmup):
                self.send(WARMUP)
            warmed.append(1)
            if len(warmed) == concurrency:
                open_window()
            go.wait()

        @task
        def load(self) -> None:
            if not tally.take(max_requests, min_requests, window):
                raise StopUser
            self.send(req.name)

    def counted(name, response_time, response, exception, **_kw) -> None:
        if name == WARMUP:
            return
        status = response.status_code or type(response.error).__name__
        detail = ""
        if exception is not None:
            body = response.content if response.status_code else str(response.error).encode()
            detail = (body or b"")[:300].decode("utf-8", "replace")
        tally.record(response_time / 1000, status, exception is None, detail)

    env = Environment(user_classes=[Client], host=f"http://{host}:{port}")
    env.events.request.add_listener(counted)
    runner = env.create_local_runner()
    try:
        runner.start(concurrency, spawn_rate=min(concurrency, 100))
        if not go.wait(timeout=(warmup + 1) * timeout + 30):
            raise RuntimeError(f"only {len(warmed)} of {concurrency} users warmed up")
        while runner.user_count:  # each user stops when the tally refuses it a request
            gevent.sleep(0.005)
        elapsed = time.perf_counter() - window["start"]
    finally:
        runner.quit()
    if runner.exceptions:
        first = next(iter(runner.exceptions.values()))
        raise RuntimeError(f"the load client failed: {first['msg']}")
    ok = len(tally.latencies)
    entry = env.stats.get(req.name, req.method)
    return {
        "name": req.name,
        "method": req.method,
        "path": req.path,
        "expect": req.expect,
        "concurrency": concurrency,
        "elapsed_s": round(elapsed, 3),
        "requests": ok + tally.errors,
        "ok": ok,
        "errors": tally.errors,
        "statuses": dict(tally.statuses),
        "error_samples": tally.samples,
        "latency_ms": latency_summary(tally.latencies),
        "rps": round(ok / elapsed, 2) if elapsed > 0 else None,
        # Locust's own count of the same requests (its times include failures, rounded).
        "locust": {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5) if entry.num_requests else None,
            "p95_ms": entry.get_response_time_percentile(0.95) if entry.num_requests else None,
        },
    }


def main() -> int:
    """A JSON spec on stdin, the result on stdout (locust's own messages go to stderr)."""
    spec = json.load(sys.stdin)
    out, sys.stdout = sys.stdout, sys.stderr
    try:
        result = run_load(
            spec["host"],
            spec["port"],
            Request(**spec["request"]),
            duration=spec["duration"],
            concurrency=spec["concurrency"],
            max_requests=spec.get("max_requests"),
            min_requests=spec.get("min_requests", 0),
            warmup=spec.get("warmup", 1),
        )
    finally:
        sys.stdout = out
    json.dump({**result, "client_pid": os.getpid()}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
