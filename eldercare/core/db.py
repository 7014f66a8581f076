"""Declarative base with a constraint naming convention, mixins and time helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session as FSASession
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The largest id an INTEGER primary key holds (32 bits on PostgreSQL). A larger number in a
#: URL or a form names no row, and the database would refuse to even compare it.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """Aware current time in UTC; pass the function itself as a column default."""
    return datetime.now(UTC)


DEFAULT_TIMEZONE = "Asia/Shanghai"


def local_today() -> date:
    """Today's date where the county is (Asia/Shanghai), not on the server's clock: between
    00:00 and 08:00 Beijing time a UTC server would still be on yesterday."""
    name = current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else None
    return datetime.now(ZoneInfo(name or DEFAULT_TIMEZONE)).date()


def local_zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else None
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def day_start(day: date) -> datetime:
    """00:00 of a county day, as aware UTC."""
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


def local_date(value: datetime) -> date:
    """The county's calendar date of an aware time (a visit at 01:00 Beijing time on the
    2nd is on the 2nd, though it is still the 1st in UTC)."""
    return value.astimezone(local_zone()).date()


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware (SQLite drops tzinfo)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(column: str, values, name: str) -> sa.CheckConstraint:
    """CHECK that ``column`` holds one of an enum's values (the database guards it too)."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name)


class Model(DeclarativeBase):
    """Base for every table of the application."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """created_at / updated_at kept by the database layer."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class DefaultsMixin:
    """A row of a region's settings that may not be saved: ``defaults`` is an unsaved row
    holding the columns' default values (what a region without a row of its own uses)."""

    @classmethod
    def defaults(cls, region_id: int | None = None):
        values = {
            column.key: column.default.arg
            for column in cls.__table__.columns
            if column.default is not None and not callable(column.default.arg)
        }
        return cls(region_id=region_id, **values)


class AppSession(FSASession):
    """Flask-SQLAlchemy session that honours an explicit bind.

    Flask-SQLAlchemy always picks the engine by bind key; tests bind the session to one
    connection inside an outer transaction (rolled back after each test), so an explicit
    ``bind`` given to the session must win.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def render_migration_item(type_, obj, autogen_context):
    """Write our column types into migrations as their plain SQL types (migrations stay
    independent of application code)."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        return "sa." + repr(obj.impl)
    return False


def can_copy(session) -> bool:
    """Whether ``copy_rows`` can COPY on the session's database (PostgreSQL through psycopg)."""
    return session.get_bind().dialect.driver == "psycopg"


def copy_rows(session, table: sa.Table, columns: list[str], rows) -> None:
    """COPY ``rows`` (sequences of values in ``columns`` order) into ``table`` on the
    session's connection and transaction: for bulk writes of 100,000 rows, where building and
    parsing multi-row INSERTs costs more than the database's own work. Each value goes through
    its column type's bind processing (encryption, JSON, UTC times) as an INSERT would. Only
    where ``can_copy``; the caller flushes first what must be written before these rows, and
    gives every column without a server default (COPY knows nothing of Python defaults)."""
    import psycopg
    from psycopg import sql as pg_sql

    connection = session.connection()
    dialect = connection.dialect
    binds = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    statement = pg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        pg_sql.Identifier(table.name), pg_sql.SQL(", ").join(map(pg_sql.Identifier, columns))
    )
    raw = connection.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [bind(value) if bind else value for bind, value in zip(binds, row, strict=True)]
                )
    except psycopg.errors.IntegrityError as exc:
        # As SQLAlchemy would have raised it: a conflict the error handlers answer with 409
        # (a person registered by someone else between the import's check and its write).
        raise sa.exc.IntegrityError(statement.as_string(raw), None, exc) from exc
