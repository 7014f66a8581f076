"""A real SMTP server (aiosmtpd) and a real HTTP SMS gateway on free local ports."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A port nothing listens on (the OS picks it; closed again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.messages.append(message_from_bytes(envelope.original_content, policy=default))
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server(port: int, delay: float = 0.0) -> Iterator[Mailbox]:
    mailbox = Mailbox(delay)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def mail_port(app, monkeypatch) -> int:
    """The app sends e-mail to 127.0.0.1:<port>, where nothing listens yet."""
    port = free_port()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)
    monkeypatch.setitem(app.config, "APP_BASE_URL", "https://ylfw.example.gov.cn")
    return port


@pytest.fixture
def smtp(mail_port) -> Iterator[Mailbox]:
    """An SMTP server that accepts everything, on the app's MAIL_PORT."""
    with smtp_server(mail_port) as mailbox:
        yield mailbox


class Gateway:
    """What the SMS gateway received, and the status it answers with."""

    def __init__(self):
        self.status = 200
        self.requests: list[dict] = []


@contextmanager
def sms_gateway() -> Iterator[tuple[Gateway, str]]:
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            gateway.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
            )
            self.send_response(gateway.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            """Quiet: the test reads the requests from ``gateway``, not from stderr."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway, f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sms_http(app, monkeypatch) -> Iterator[Gateway]:
    """The app sends SMS through a local HTTP gateway that requires a bearer token."""
    with sms_gateway() as (gateway, url):
        monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
        monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", url)
        monkeypatch.setitem(app.config, "SMS_GATEWAY_TOKEN", "gw-secret")
        monkeypatch.setitem(app.config, "SMS_GATEWAY_TIMEOUT", 5)
        yield gateway
