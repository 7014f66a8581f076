"""The peers of the fault run (``make faults``), each a process of its own so that it can be
stopped and started again: an SMTP server (aiosmtpd) and an SMS gateway stub (HTTP POST JSON),
both on loopback. Each appends every message it accepts to a file, one JSON line each, fsynced
before the answer goes out: the delivery id (Message-ID, Idempotency-Key) and the token that
names the message independently of it (the subject "fault N").

Each records a message *before* it answers (250 to DATA, 200 to the POST) and then waits a
few ms: a dispatcher killed in that wait leaves the message delivered with its attempt
unanswered, the window a kill between acceptance and commit opens. On SIGTERM a peer takes no
new message, lets those it recorded get their answer, and exits (a message it recorded is
never refused afterwards).

Also ``JOBS``, the scheduler's one job in the fault run (SCHEDULER_JOBS="fault_peers:JOBS"):
the outbox dispatch, every OUTBOX_DISPATCH_SECONDS.

    python scripts/fault_peers.py smtp --port 2525 --out mail.jsonl [--delay-ms 5]
    python scripts/fault_peers.py sms --port 8025 --out sms.jsonl [--delay-ms 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time


def __getattr__(name: str):
    # Imported only by the scheduler copies: the peers start without the application.
    if name == "JOBS":
        from eldercare.scheduler.jobs import Job

        return [
            Job(
                "outbox-dispatch",
                "eldercare.notifications.tasks:dispatch_outbox",
                "interval",
                setting="OUTBOX_DISPATCH_SECONDS",
            )
        ]
    raise AttributeError(name)


class Recorder:
    """Appends one JSON line per accepted message, fsynced; counts the messages in flight
    (recorded, answer not yet sent) so that a stop waits for their answers."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open for the process)
        self._lock = threading.Lock()
        self.closing = False
        self.in_flight = 0

    def record(self, entry: dict) -> bool:
        """False (nothing recorded) once the peer is stopping."""
        with self._lock:
            if self.closing:
                return False
            entry.update(t=round(time.time(), 4), pid=os.getpid())
            self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self.in_flight += 1
            return True

    def answered(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self.closing = True
        deadline = time.monotonic() + timeout
        while self.in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        self._file.close()


def token_of(subject: str) -> int | None:
    """N of "fault N"."""
    head, _, number = (subject or "").strip().partition(" ")
    return int(number) if head == "fault" and number.isdigit() else None


def wait_for_sigterm() -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def run_smtp(port: int, out: str, delay: float) -> None:
    import asyncio
    from email import message_from_bytes
    from email.policy import default

    from aiosmtpd.controller import Controller

    recorder = Recorder(out)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            mail = message_from_bytes(envelope.original_content or envelope.content, policy=default)
            entry = {
                "channel": "email",
                "id": str(mail.get("Message-ID", "")),
                "token": token_of(str(mail.get("Subject", ""))),
                "to": list(envelope.rcpt_tos),
            }
            if not recorder.record(entry):
                return "421 shutting down"
            try:
                await asyncio.sleep(delay)  # recorded: a kill now is after acceptance
            finally:
                recorder.answered()
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp peer {os.getpid()} on 127.0.0.1:{port}", flush=True)
    wait_for_sigterm()
    recorder.close()
    time.sleep(0.05)  # the last 250s go out before the loop stops
    controller.stop()
    print(f"smtp peer {os.getpid()} stopped", flush=True)


def run_sms(port: int, out: str, delay: float) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    recorder = Recorder(out)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != "Bearer fault-token":
                self._answer(401)
                return
            try:
                payload = json.loads(body)
            except ValueError:
                self._answer(400)
                return
            text = str(payload.get("text", ""))
            entry = {
                "channel": "sms",
                "id": self.headers.get("Idempotency-Key", ""),
                "payload_id": payload.get("id"),
                "token": token_of(text.split("\n", 1)[0]),
                "to": payload.get("to"),
            }
            if not recorder.record(entry):
                self._answer(503)
                return
            try:
                time.sleep(delay)
                self._answer(200)
            finally:
                recorder.answered()

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.wfile.flush()

        def log_message(self, *args):
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"sms peer {os.getpid()} on 127.0.0.1:{port}", flush=True)
    wait_for_sigterm()
    server.shutdown()  # no new request is taken
    recorder.close()
    server.server_close()
    print(f"sms peer {os.getpid()} stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["smtp", "sms"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    args = parser.parse_args(argv)
    run = run_smtp if args.kind == "smtp" else run_sms
    run(args.port, args.out, args.delay_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
