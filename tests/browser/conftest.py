"""Real Chromium against a live server: its own app, database and demo data, served on a free
port in a thread; one browser per worker, a fresh context (cookies, locale) per test."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from eldercare import create_app
from eldercare.auth.models import User
from eldercare.devtools.demo.data import DEMO_PASSWORD
from eldercare.extensions import db
from tests.conftest import postgres_url_for_worker

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402,F401  (re-exported)


def browser_database_url(tmp_path_factory, worker_id: str) -> str:
    """A database of its own: the per-test rollback of the other tests cannot reach a server
    thread, so this one holds committed demo data."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return "sqlite:///" + str(tmp_path_factory.mktemp("browser-db") / "browser.db")
    url = make_url(base)
    name = f"{url.database}_browser_{worker_id}"
    return postgres_url_for_worker(url.set(database=name).render_as_string(False), "master")


@dataclass
class LiveServer:
    app: Flask
    url: str

    def query(self, fn: Callable[[], object]) -> object:
        """Run ``fn`` against the live server's database and return its result."""
        with self.app.app_context():
            return fn()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, worker_id) -> Iterator[LiveServer]:
    from flask_migrate import upgrade

    from eldercare.devtools.demo import load_demo

    url = browser_database_url(tmp_path_factory, worker_id)
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": True,
            "RATING_EVIDENCE_DIR": str(tmp_path_factory.mktemp("browser-evidence")),
        }
    )
    with app.app_context():
        upgrade()
        load_demo(people=200)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _chinese_accounts(live_server):
    """Following the language link stores the choice on the account; start every test from
    the accounts as the demo loaded them (no choice: Chinese)."""

    def reset():
        db.session.execute(sa.update(User).values(locale=None))
        db.session.commit()

    live_server.query(reset)
    yield
    live_server.query(reset)


@dataclass
class Pages:
    """Opens pages in fresh browser contexts; collects script errors and failed asset loads."""

    browser: object
    base_url: str
    contexts: list = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def new(self, **options):
        options = {"locale": "zh-CN", "base_url": self.base_url, **options}
        context = self.browser.new_context(**options)
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: self._on_console(page, msg))
        page.on("response", self._on_response)
        return page

    def _on_console(self, page, msg) -> None:
        # Failed loads are reported by _on_response, with their URL.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.errors.append(f"{page.url}: {msg.text}")

    def _on_response(self, response) -> None:
        # A missing stylesheet or script (everything is served locally); pages themselves may
        # answer 4xx on purpose, and browsers ask for /favicon.ico on their own.
        request = response.request
        if (
            response.status >= 400
            and request.resource_type != "document"
            and not request.url.endswith("/favicon.ico")
        ):
            self.errors.append(f"{request.url}: HTTP {response.status}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def pages(request, browser, live_server) -> Iterator[Pages]:
    opened = Pages(browser, live_server.url)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for n, context in enumerate(opened.contexts):
            for m, page in enumerate(context.pages):
                screenshot(page, f"FAILED-{name}-{n}{m}")
    opened.close()


@pytest.fixture
def page(pages):
    return pages.new()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real form and wait for the page it leads to."""
    page.goto("/auth/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.click('main form button[type="submit"]')
