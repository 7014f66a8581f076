"""Bulk writing: COPY on PostgreSQL, executemany in chunks on SQLite; ids handed out here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

import sqlalchemy as sa

from eldercare.core.crypto import EncryptedString
from eldercare.extensions import db

CHUNK = 5000


def _plain(column: sa.Column) -> sa.types.TypeEngine:
    """The column's type, except that encrypted columns take the ciphertext as it is (the
    generator encrypts each value once, as the ORM would)."""
    return sa.Text() if isinstance(column.type, EncryptedString) else column.type


class Loader:
    """Writes rows given as tuples in the order of ``columns``. Every table gets explicit
    ids from here (max(id) + 1 on), so the same seed gives the same ids; ``fix_sequences``
    moves PostgreSQL's sequences past them at the end."""

    def __init__(self) -> None:
        self.dialect = db.session.get_bind().dialect.name
        self._next: dict[str, int] = {}
        self._copying = False
        if self.postgres:
            # Room to build indexes in memory; no JIT for hundreds of mid-sized statements.
            db.session.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
            db.session.execute(sa.text("SET LOCAL jit = off"))

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def ids(self, table: sa.Table, count: int) -> int:
        """Reserve ``count`` ids of ``table``; returns the first (with 0, the next free one,
        for rows counted as they are written: reserve them afterwards)."""
        if self._copying:
            raise RuntimeError("ids are handed out before or after a COPY, not during it")
        if table.name not in self._next:
            highest = db.session.scalar(sa.select(sa.func.max(table.c.id)))
            self._next[table.name] = (highest or 0) + 1
        first = self._next[table.name]
        self._next[table.name] += count
        return first

    def write(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        db.session.flush()
        if self.postgres:
            return self._copy(table, columns, rows)
        plain = sa.table(table.name, *(sa.column(c, _plain(table.c[c])) for c in columns))
        insert = sa.insert(plain)
        written = 0
        for chunk in _chunks(rows, CHUNK):
            db.session.execute(insert, [dict(zip(columns, row, strict=True)) for row in chunk])
            written += len(chunk)
        return written

    def _copy(self, table: sa.Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        as_json = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
        raw = db.session.connection().connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        written = 0
        self._copying = True  # the connection answers nothing else until the COPY ends
        try:
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    if as_json:
                        row = list(row)
                        for i in as_json:
                            row[i] = json.dumps(row[i], ensure_ascii=False)
                    copy.write_row(row)
                    written += 1
        finally:
            self._copying = False
        return written

    def analyze(self, *tables: str) -> None:
        """Planner statistics of freshly loaded tables before set-based statements read
        them (PostgreSQL counts the rows of its own open transaction)."""
        if self.postgres:
            db.session.execute(sa.text(f"ANALYZE {', '.join(tables)}"))

    def fix_sequences(self) -> None:
        """Move each table's id sequence past the ids written (PostgreSQL)."""
        if not self.postgres:
            return
        for name in sorted(self._next):
            # Table names come from the models, never from input.
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"  # noqa: S608
                    f" coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                )
            )


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


@contextmanager
def unchecked(loader: Loader, *tables: str) -> Iterator[None]:
    """Drop the plain indexes and the foreign keys of ``tables`` while millions of rows go
    in, and restore them afterwards from their own definitions (PostgreSQL's advice for
    populating a database): each index is built once, and each foreign key is checked in
    one pass over the table instead of by a trigger per row. Unique, check and exclusion
    constraints stay. Inside the transaction: a failure leaves everything as it was."""
    if not loader.postgres:
        yield
        return
    names = {"tables": list(tables)}
    indexes = db.session.execute(
        sa.text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " WHERE i.schemaname = current_schema() AND i.tablename = ANY(:tables)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            " ORDER BY i.indexname"
        ),
        names,
    ).all()
    keys = db.session.execute(
        sa.text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c WHERE c.contype = 'f'"
            " AND c.conrelid::regclass::text = ANY(:tables) ORDER BY c.conname"
        ),
        names,
    ).all()
    for table, name, _ in keys:
        db.session.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        db.session.execute(sa.text(f'DROP INDEX "{name}"'))
    yield
    for _, definition in indexes:
        db.session.execute(sa.text(definition))
    for table, name, definition in keys:
        db.session.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


def analyze() -> None:
    """Fresh planner statistics and visibility maps after the load (PostgreSQL; run after
    the commit: VACUUM cannot run inside a transaction)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
