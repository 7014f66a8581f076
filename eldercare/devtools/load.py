"""HTTP for the city benchmark (``flask bench city``): gunicorn started on loopback with the
benchmark's database, sign-in once per user, single timed requests (the bulk update), and the
load of each endpoint, run by locust in a process of its own (``loadclient``)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import asdict, dataclass, field

from eldercare.devtools.loadclient import CLIENT_TIMEOUT_S, SERVER_TIMEOUT_S, Request

#: How long to wait for gunicorn to answer /healthz after it is started.
BOOT_TIMEOUT_S = 90.0
LOAD_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loadclient.py")
#: Where wsgi.py is (gunicorn's working directory): eldercare/devtools/load.py is two below.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    """``loadclient.run_load`` in a second Python process (that file run as a script: it
    imports nothing of the application, and locust's gevent patching stays there)."""
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
    proc = subprocess.run(  # noqa: S603 - our own client script, with our own arguments
        [sys.executable, LOAD_CLIENT],
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
        self.cwd = cwd or PROJECT_ROOT
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
