"""HTTP load for the city benchmark (``flask bench city``): gunicorn started on loopback with
the benchmark's database, sign-in once per user, and a load client run in a process of its own.

The client needs nothing but the standard library: it is started as a script
(``python eldercare/loadbench.py client``, a JSON spec on stdin, a JSON result on stdout), so
its threads never share an interpreter (or a GIL) with the runner or the server. Each thread
keeps an HTTP/1.1 connection open (gunicorn's sync workers close it after every answer; the
client then reconnects, as a browser would) and sends the same request for a fixed time or a
fixed count. Any answer other than the expected status, and any failed connection, is counted
as an error and sampled: it is never left out silently.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import asdict, dataclass, field

#: How long to wait for gunicorn to answer /healthz after it is started.
BOOT_TIMEOUT_S = 90.0
#: gunicorn kills a worker whose request takes longer than this...
SERVER_TIMEOUT_S = 300
#: ...so that the client, waiting longer, never leaves a request behind that would still
#: keep a worker busy while the next endpoint is measured: a slow page is slow, not an error.
CLIENT_TIMEOUT_S = 2 * SERVER_TIMEOUT_S + 60
ERROR_SAMPLES = 5


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


# --- the load client ------------------------------------------------------------------------


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
    lock: threading.Lock = field(default_factory=threading.Lock)
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
        with self.lock:
            if limit is not None and self.sent >= limit:
                return False
            if now >= window["end"] and (self.sent >= least or now >= window["cap"]):
                return False
            self.sent += 1
            return True

    def record(self, seconds: float, status: int | str, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.statuses[str(status)] += 1
            if ok:
                self.latencies.append(seconds)
            else:
                self.errors += 1
                if len(self.samples) < ERROR_SAMPLES:
                    self.samples.append({"status": status, "detail": detail[:300]})


def _once(conn: http.client.HTTPConnection, req: Request) -> tuple[int, bytes]:
    headers = {"Host": f"{conn.host}:{conn.port}", **req.headers}
    body = req.body.encode() if req.body is not None else None
    conn.request(req.method, req.path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


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
    """Send ``request`` from ``concurrency`` threads for ``duration`` seconds (or until
    ``max_requests`` are sent, whichever comes first), after ``warmup`` uncounted requests
    per thread; a slow endpoint is loaded past ``duration`` until ``min_requests`` are sent,
    for at most six times ``duration``. Latency is measured from sending the request to
    reading the whole answer."""
    req = request if isinstance(request, Request) else Request(**request)
    tally = _Tally()
    window: dict[str, float] = {}

    def open_window() -> None:  # run once, when every thread has warmed up
        window["start"] = time.perf_counter()
        window["end"] = window["start"] + duration
        window["cap"] = window["start"] + 6 * duration

    barrier = threading.Barrier(concurrency + 1, action=open_window)

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            try:
                for _ in range(warmup):
                    try:
                        _once(conn, req)
                    except (OSError, http.client.HTTPException):
                        conn.close()
            except BaseException:
                barrier.abort()  # nobody waits for a thread that is gone
                raise
            barrier.wait()
            while tally.take(max_requests, min_requests, window):
                started = time.perf_counter()
                try:
                    status, body = _once(conn, req)
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()  # reconnects on the next request
                    tally.record(time.perf_counter() - started, type(exc).__name__, False, str(exc))
                    continue
                elapsed = time.perf_counter() - started
                ok = status == req.expect
                tally.record(
                    elapsed, status, ok, "" if ok else body[:300].decode("utf-8", "replace")
                )
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()  # every thread warmed up: the measured window starts now
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - window["start"]
    ok = len(tally.latencies)
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
    }


def load_in_process(
    host: str,
    port: int,
    request: Request,
    *,
    duration: float,
    concurrency: int,
    max_requests: int | None = None,
    min_requests: int = 0,
    warmup: int = 1,
) -> dict:
    """``run_load`` in a second Python process (this file run as a script)."""
    spec = {
        "host": host,
        "port": port,
        "request": asdict(request),
        "duration": duration,
        "concurrency": concurrency,
        "max_requests": max_requests,
        "min_requests": min_requests,
        "warmup": warmup,
    }
    proc = subprocess.run(  # noqa: S603 - this very file, with our own arguments
        [sys.executable, os.path.abspath(__file__), "client"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=6 * duration + 3 * CLIENT_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"load client for {request.name!r} exited {proc.returncode}: {last[0]}")
    return json.loads(proc.stdout)


def _client_main() -> int:
    spec = json.load(sys.stdin)
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
    json.dump({**result, "client_pid": os.getpid()}, sys.stdout)
    return 0


# --- single requests: sign-in, the bulk update ------------------------------------------------


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]
    seconds: float
    cookies: dict[str, str] = field(default_factory=dict)


def call(
    host: str,
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    timeout: float = 120.0,
) -> Answer:
    """One request on a connection of its own; the answer's cookies are parsed."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        seconds = time.perf_counter() - started
        cookies = {}
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                cookies[key.strip()] = val.strip()
        return Answer(response.status, data, dict(response.getheaders()), seconds, cookies)
    finally:
        conn.close()


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


class SignInFailed(RuntimeError):
    """A benchmark user could not sign in; the message says how the server answered."""


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in(host: str, port: int, username: str, password: str) -> str:
    """Sign in through the login form (CSRF token included); the Cookie header to send."""
    page = call(host, port, "GET", "/auth/login")
    match = _CSRF.search(page.body.decode("utf-8", "replace"))
    if page.status != 200 or not match:
        raise SignInFailed(f"login page answered {page.status} without a CSRF token")
    cookies = dict(page.cookies)
    form = urllib.parse.urlencode(
        {"csrf_token": match.group(1), "username": username, "password": password}
    )
    answer = call(
        host,
        port,
        "POST",
        "/auth/login",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": _cookie_header(cookies),
        },
        body=form,
    )
    if answer.status != 302 or "/auth/login" in answer.headers.get("Location", "/auth/login"):
        raise SignInFailed(f"signing in as {username!r} answered {answer.status}")
    cookies.update(answer.cookies)
    return _cookie_header(cookies)


# --- the server -----------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def read_status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/status (VmHWM: peak resident set; VmRSS: now)."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS", "VmPeak"):
                out[key] = int(rest.split()[0])
    return out


def children_of(pid: int) -> list[int]:
    """Direct children of a process, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: fields follow the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


class Gunicorn:
    """``gunicorn wsgi:app`` on 127.0.0.1 and a free port, as a subprocess, with the given
    environment (the benchmark's DATABASE_URL and ELDERCARE_CONFIG); its log goes to a file."""

    def __init__(self, env: dict[str, str], workers: int = 2, cwd: str | None = None):
        self.env = env
        self.workers = workers
        self.cwd = cwd or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open while it runs
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )

    def start(self) -> Gunicorn:
        self.port = free_port(self.host)
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            "--bind",
            f"{self.host}:{self.port}",
            "--timeout",
            str(SERVER_TIMEOUT_S),
            "wsgi:app",
        ]
        self.proc = subprocess.Popen(  # noqa: S603 - our own fixed command
            cmd, cwd=self.cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                ready = call(self.host, self.port, "GET", "/healthz", timeout=5).status == 200
                if ready and len(self.worker_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer /healthz in time: {self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def memory(self) -> dict:
        """VmHWM / VmRSS of each worker (kB) and the largest peak, in MiB."""
        workers = []
        for pid in self.worker_pids():
            try:
                workers.append({"pid": pid, **read_status(pid)})
            except OSError:
                continue
        peak = max((w.get("VmHWM", 0) for w in workers), default=0)
        return {
            "workers": workers,
            "master": read_status(self.proc.pid) if self.proc else {},
            "peak_worker_mib": round(peak / 1024, 1),
        }

    def log_tail(self, chars: int = 3000) -> str:
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-chars:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the workers finish and exit
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    if sys.argv[1:] == ["client"]:
        sys.exit(_client_main())
    sys.exit("usage: loadbench.py client  (a JSON spec on stdin)")
