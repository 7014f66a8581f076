"""Leadership: at most one copy of the scheduler runs the jobs. A PostgreSQL advisory lock on a
connection of its own, or on SQLite an flock on a file beside the database; lost, at the
latest, when the holding process ends."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from typing import Protocol

import click
import sqlalchemy as sa
from flask import Flask

from eldercare.extensions import db

#: One logger for the whole process (operators and tests follow "eldercare.scheduler").
log = logging.getLogger("eldercare.scheduler")

#: The advisory-lock key of the scheduler: the first 64 bits of SHA-256("eldercare-scheduler").
LOCK_KEY = int.from_bytes(hashlib.sha256(b"eldercare-scheduler").digest()[:8], "big", signed=True)


class LeaderLock(Protocol):
    """Held by at most one process at a time; lost, at the latest, when its process ends."""

    def acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...
    def close(self) -> None: ...


class FileLeaderLock:
    """Leadership on SQLite: an exclusive flock on a file beside the database. The kernel drops
    it when the process ends, however it ends. The file holds the leader's pid."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        if not self.held():  # the file was replaced between open and flock
            self.release()
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return True

    def held(self) -> bool:
        """Still ours: the path still names the file we locked (not deleted or replaced, which
        would let another copy lock a new file)."""
        if self._fd is None:
            return False
        try:
            ours, there = os.fstat(self._fd), os.stat(self.path)
        except OSError:
            return False
        return (ours.st_dev, ours.st_ino) == (there.st_dev, there.st_ino)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the lock
            self._fd = None

    close = release


class AdvisoryLeaderLock:
    """Leadership on PostgreSQL: a session advisory lock on a connection of its own (not from
    the request pool), kept for the life of the process. The server drops the lock when that
    session ends, however the process ends; TCP keepalives on both sides notice a dead peer
    within about half a minute."""

    HELD = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND pid = pg_backend_pid() AND classid::bigint = :high AND objid::bigint = :low"
        " AND objsubid = 1"
    )

    def __init__(self, url: sa.URL | str, key: int = LOCK_KEY) -> None:
        self.key = key
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.NullPool,
            isolation_level="AUTOCOMMIT",  # never idle in a transaction
            hide_parameters=True,
            connect_args={
                "application_name": "eldercare-scheduler",
                "connect_timeout": 10,
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
                # The server's side: a leader whose host vanished loses the lock in ~25 s.
                "options": "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5"
                " -c tcp_keepalives_count=3 -c statement_timeout=10000",
            },
        )
        self._connection: sa.Connection | None = None
        self._held = False
        # The watch thread and each job's thread ask ``held`` on the one lock connection.
        self._mutex = threading.RLock()

    def acquire(self) -> bool:
        with self._mutex:
            return self._acquire()

    def _acquire(self) -> bool:
        if self._connection is None:
            self._connection = self.engine.connect()
        try:
            got = self._connection.scalar(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        except sa.exc.SQLAlchemyError:
            self.release()
            raise
        self._held = bool(got)
        return self._held

    def held(self) -> bool:
        """The lock connection answers and the server still lists our lock as granted."""
        with self._mutex:
            return self._still_held()

    def _still_held(self) -> bool:
        if not self._held or self._connection is None:
            return False
        try:
            count = self._connection.scalar(
                self.HELD, {"high": (self.key >> 32) & 0xFFFFFFFF, "low": self.key & 0xFFFFFFFF}
            )
        except sa.exc.SQLAlchemyError as err:
            # The server went away or restarted: the connection raises DBAPIError once, then
            # PendingRollbackError on every later use. Either way the session, and the lock
            # with it, is gone: drop the connection, so that the next acquire starts afresh.
            log.warning(
                "the leadership lock connection failed: %s", getattr(err, "orig", err) or err
            )
            self.release()
            return False
        return count == 1

    def release(self) -> None:
        """Close the lock's session: the lock, if we still had it, is gone with it."""
        with self._mutex:
            self._held = False
            if self._connection is not None:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    self._connection.close()
                self._connection = None

    def close(self) -> None:
        self.release()
        self.engine.dispose()


def leader_lock(app: Flask) -> LeaderLock:
    """The leadership lock for the app's database."""
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return AdvisoryLeaderLock(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            return FileLeaderLock(url.database + ".scheduler-lock")
        os.makedirs(app.instance_path, exist_ok=True)
        return FileLeaderLock(os.path.join(app.instance_path, "eldercare.scheduler-lock"))
    raise click.ClickException(f"no leadership lock for {url.get_backend_name()} databases")
