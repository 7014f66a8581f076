"""What the benchmarks share about the database: synthetic regions, bulk inserts, fresh
statistics, and running a step in one transaction rolled back at the end."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.devtools.bench.table import NotRunnable
from eldercare.extensions import db
from eldercare.regions.models import Region

CHUNK = 5000


def insert_rows(table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[start : start + CHUNK])


def bench_regions(townships: int, villages: int) -> list[Region]:
    """A county 619900 of its own with townships and villages (codes outside real ones)."""
    county = Region(code="619900000000", name="基准县", level="county")
    db.session.add(county)
    db.session.flush()
    out = []
    for t in range(1, townships + 1):
        town = Region(code=f"619900{t:03d}000", name=f"基准镇{t}", level="township", parent=county)
        db.session.add(town)
        for v in range(1, villages + 1):
            out.append(
                Region(
                    code=f"619900{t:03d}{v:03d}",
                    name=f"基准村{t}-{v}",
                    level="village",
                    parent=town,
                )
            )
    db.session.add_all(out)
    db.session.flush()
    return out


def raw_table(name: str, row: dict) -> sa.TableClause:
    return sa.table(name, *(sa.column(key) for key in row))


def analyze() -> None:
    """Fresh planner statistics (and no dead rows) before anything is timed."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


@contextmanager
def rolled_back():
    """Every session use inside runs in one transaction that is rolled back at the end (the
    code's own commits become savepoints), as the test suite does."""
    from eldercare.core.db import AppSession

    db.session.commit()  # nothing of the caller's left open (on SQLite: no write lock held)
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": AppSession}
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


def vacuum(*tables: str) -> None:
    """Rid the tables of the rows a rolled-back step left dead, and renew their statistics,
    before the next step is timed (PostgreSQL; nothing to do on SQLite)."""
    db.session.commit()
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))


def active_user(username: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(User.username == username, User.active.is_(True))
    )


def user_account(username: str) -> dict | None:
    """An active user as plain values, the transaction ended: on SQLite an open one would
    hold the write lock that gunicorn's workers wait for."""
    user = active_user(username)
    out = None
    if user is not None:
        out = {
            "id": user.id,
            "username": user.username,
            "facility_id": user.facility_id,
            "region_id": user.region_id,
        }
    db.session.commit()
    return out


def anyone() -> User:
    """A user to stand as the maker of what a rolled-back step writes."""
    user = active_user("admin") or db.session.scalar(sa.select(User).order_by(User.id).limit(1))
    if user is None:
        raise NotRunnable("no user in the database")
    return user
