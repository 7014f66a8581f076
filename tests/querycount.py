"""Counts the SQL statements a block of a test sends to the database (to bound list pages)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from eldercare.extensions import db

SAVEPOINT = re.compile(r"sa_savepoint_\d+")


class Statements(list[str]):
    """The statements sent inside a ``count_queries`` block, in order."""

    @property
    def selects(self) -> list[str]:
        """Only the reads (a savepoint or an ``UPDATE`` of a page that tidies up is left out)."""
        return [s for s in self if s.lstrip().upper().startswith(("SELECT", "WITH"))]

    def __str__(self) -> str:
        return "\n".join(f"{n:3d}. {_short(s)}" for n, s in enumerate(self, 1))

    def growth_over(self, fewer: Statements) -> str:
        """The statements sent more often here than in ``fewer``, with both counts: what a
        page repeats per row."""
        here, there = Counter(map(_short, self)), Counter(map(_short, fewer))
        return "\n".join(
            f"{there[text]:3d} -> {n:3d}  {text}" for text, n in here.items() if n > there[text]
        )


def _short(statement: str) -> str:
    """One line, savepoints numbered alike (each request has its own)."""
    return SAVEPOINT.sub("sa_savepoint_N", " ".join(statement.split()))[:300]


@contextmanager
def count_queries() -> Iterator[Statements]:
    """Every statement the application's engine executes inside the block (requests of the
    test client included: they run on the same engine)."""
    seen = Statements()

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
