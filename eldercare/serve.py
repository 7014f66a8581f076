"""Runs the web server (gunicorn) and, beside it, the scheduler process; stops both together.

``python -m eldercare.serve --port 5000`` is what ``make run`` starts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time


def commands(host: str, port: int, workers: int) -> list[list[str]]:
    web = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        "wsgi:app",
    ]
    procs = [web]
    # The scheduler is its own process (never inside a web worker), once it exists.
    if importlib.util.find_spec("eldercare.scheduler") is not None:
        procs.append([sys.executable, "-m", "flask", "scheduler", "run"])
    return procs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
    args = parser.parse_args(argv)
    children = [subprocess.Popen(cmd) for cmd in commands(args.host, args.port, args.workers)]  # noqa: S603 - our own fixed commands
    print(f"eldercare: http://{args.host}:{args.port}/  (Ctrl-C stops)", flush=True)

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return max((child.returncode or 0) for child in children)


if __name__ == "__main__":
    sys.exit(main())
