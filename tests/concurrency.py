"""Helpers for tests that race real requests against committed data."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask
from flask_migrate import upgrade

from eldercare import create_app
from eldercare.extensions import db
from tests.conftest import IsolatedClient, fresh_database_url


@contextmanager
def committed_app(name: str, tmp_path) -> Iterator[Flask]:
    """An app on a fresh database of its own, migrated; what the body commits is real."""
    app = create_app(
        {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": fresh_database_url(name, tmp_path)}
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def process_env(url: str, tmp_path, **settings: str) -> dict[str, str]:
    """The environment of a `flask ...` process of the app on ``url`` (a database made by
    ``committed_app``), with further settings."""
    return {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "ELDERCARE_CONFIG": "testing",
        "ELDERCARE_INSTANCE": str(tmp_path / "instance"),
        "TEST_DATABASE_URL": url,
        "DATABASE_URL": url,
        "PYTHONUNBUFFERED": "1",
        **settings,
    }


def at_once(calls: list[Callable[[], object]], timeout: float = 120) -> list[object]:
    """Run the calls in threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
