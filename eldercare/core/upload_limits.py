"""Bounds on an uploaded table, checked before it is parsed, so that a hostile file is refused
in about a second whatever it holds: a zip bomb, a million rows or columns, a huge table of
shared strings, a DTD. An .xlsx is a zip archive of XML parts; its central directory declares
each part's unpacked size (Python's zipfile stops at that size, so the declaration is binding)
and the first sheet's rows and cells are counted from its packed stream without building
anything, stopping at the first limit passed. One account imports one file at a time.

The limits are settings (config.py, ``SPREADSHEET_*``); the row limit is the caller's."""

from __future__ import annotations

import functools
import inspect
import io
import re
import threading
import time
import zipfile
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from posixpath import dirname, join, normpath
from xml.etree import ElementTree

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import gettext as _

from eldercare.extensions import db


class SpreadsheetError(ValueError):
    """The file cannot be read as a table; the message says why, translated."""


@dataclass(frozen=True)
class TableLimits:
    """What one uploaded table may hold. ``rows`` counts every row, the header included."""

    rows: int
    columns: int = 100
    #: Cells with a value in the whole sheet (memory and time grow with them, not the rows).
    cells: int = 4_000_000
    unpacked_bytes: int = 200 * 2**20
    strings_bytes: int = 64 * 2**20
    #: A part over 1 MB unpacked may not unpack to more than this many times its packed size
    #: (sheets Excel and WPS write pack 5 to 30 times; a zip bomb a thousand times).
    ratio: int = 200
    parts: int = 1000
    seconds: float = 60.0

    @classmethod
    def for_rows(cls, data_rows: int) -> TableLimits:
        """The settings' limits for a file of at most ``data_rows`` rows under its header."""
        config = current_app.config if has_app_context() else {}
        return cls(
            rows=data_rows + 1,
            columns=int(config.get("SPREADSHEET_MAX_COLUMNS", cls.columns)),
            cells=int(config.get("SPREADSHEET_MAX_CELLS", cls.cells)),
            unpacked_bytes=int(config.get("SPREADSHEET_MAX_UNPACKED_MB", 200)) * 2**20,
            strings_bytes=int(config.get("SPREADSHEET_MAX_STRINGS_MB", 64)) * 2**20,
            ratio=int(config.get("SPREADSHEET_MAX_RATIO", cls.ratio)),
            seconds=float(config.get("SPREADSHEET_READ_SECONDS", cls.seconds)),
        )


def too_many_rows(limits: TableLimits) -> SpreadsheetError:
    return SpreadsheetError(_("At most %(n)s rows in one file.", n=limits.rows - 1))


def too_many_columns(limits: TableLimits) -> SpreadsheetError:
    return SpreadsheetError(
        _(
            "At most %(n)s columns in a sheet: delete the extra columns and upload the file again.",
            n=limits.columns,
        )
    )


def too_many_cells(limits: TableLimits) -> SpreadsheetError:
    return SpreadsheetError(
        _(
            "At most %(n)s filled cells in one file: split it into smaller files.",
            n=f"{limits.cells:,}",
        )
    )


def too_many_strings() -> SpreadsheetError:
    return SpreadsheetError(
        _(
            "The file holds far more texts than its sheet uses: copy the sheet into a new "
            "workbook and upload that one."
        )
    )


def unreadable() -> SpreadsheetError:
    return SpreadsheetError(_("The file is not a readable .xlsx workbook."))


def too_slow() -> SpreadsheetError:
    return SpreadsheetError(
        _("The file took too long to read: split it into smaller files and upload them one by one.")
    )


class Deadline:
    """The time one file may take to be read; ``check`` raises once it has passed."""

    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise too_slow()


# --- the archive ---------------------------------------------------------------------------

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: The small parts read to find the first sheet are read whole, so they are bounded apart.
_SMALL_PART = 2 * 2**20
#: Styles, themes and the like, which openpyxl parses whole (Excel's can grow to a few MB).
_OTHER_PART = 16 * 2**20
_CHUNK = 2**20
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def check_xlsx(content: bytes, limits: TableLimits) -> None:
    """Refuse an .xlsx whose declared sizes, or whose first sheet's rows and columns, pass
    ``limits``, before openpyxl parses anything. Raises :class:`SpreadsheetError`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise unreadable() from exc
    with archive:
        parts = archive.infolist()
        if len(parts) > limits.parts:
            raise unreadable()
        _check_sizes(parts, limits)
        try:
            sheet = _first_sheet(archive)
            strings = _shared_strings(archive)
            _check_other_parts(archive, parts, {sheet, strings})
            values = _count_sheet(archive, sheet, limits)
            if strings is not None:
                # Each shared string is the text of a cell; a few more are left by edits.
                _check_strings(archive, strings, limits, values + EMPTY_ROWS_ALLOWED)
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError, EOFError) as exc:
            raise unreadable() from exc


def _check_sizes(parts: list[zipfile.ZipInfo], limits: TableLimits) -> None:
    total = 0
    for part in parts:
        total += part.file_size
        packed_ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > 2**20 and packed_ratio > limits.ratio:
            raise SpreadsheetError(
                _(
                    "The file unpacks to %(n)s times its size, far more than a spreadsheet "
                    "does: save it again from Excel or WPS and upload that copy.",
                    n=int(packed_ratio),
                )
            )
    if total > limits.unpacked_bytes:
        raise SpreadsheetError(
            _(
                "The file unpacks to more than %(n)s MB: split it into smaller files.",
                n=limits.unpacked_bytes // 2**20,
            )
        )


def _check_other_parts(archive: zipfile.ZipFile, parts, counted: set) -> None:
    """The parts openpyxl parses whole when it opens a workbook (styles, workbook, themes):
    each bounded in size and free of a DTD. Other sheets are not read, media not parsed."""
    for part in parts:
        name = part.filename
        if name in counted or name.startswith("xl/worksheets/"):
            continue
        if not name.endswith((".xml", ".rels")):
            continue
        if part.file_size > _OTHER_PART:
            raise unreadable()
        deque(_chunks(archive, name), maxlen=0)  # read through: _chunks refuses a DTD


def _small_xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    info = archive.getinfo(name)
    if info.file_size > _SMALL_PART:
        raise unreadable()
    data = archive.read(info)
    if _DTD.search(data):
        raise unreadable()
    return ElementTree.fromstring(data)  # noqa: S314 (a DTD is refused above: no entities)


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, target path in the archive)."""
    rels_name = join(dirname(part), "_rels", part.rsplit("/", 1)[-1] + ".rels")
    if rels_name not in archive.NameToInfo:
        return {}
    out = {}
    for rel in _small_xml(archive, rels_name).iter(f"{{{_PKG_REL_NS}}}Relationship"):
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else join(dirname(part), target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), normpath(path))
    return out


def _workbook(archive: zipfile.ZipFile) -> str:
    for kind, target in _relationships(archive, "").values():
        if kind.endswith("/officeDocument"):
            return target
    raise unreadable()


def _first_sheet(archive: zipfile.ZipFile) -> str:
    """The part of the workbook's first sheet (the one the importers read)."""
    workbook = _workbook(archive)
    rels = _relationships(archive, workbook)
    for sheet in _small_xml(archive, workbook).iter(f"{{{_MAIN_NS}}}sheet"):
        rel = rels.get(sheet.get(f"{{{_REL_NS}}}id", ""))
        if rel:
            return rel[1]
        break
    raise unreadable()


def _shared_strings(archive: zipfile.ZipFile) -> str | None:
    for kind, target in _relationships(archive, _workbook(archive)).values():
        if kind.endswith("/sharedStrings") and target in archive.NameToInfo:
            return target
    return None


def _chunks(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    """The unpacked part in pieces that end at a tag's start, so no tag is cut in two."""
    carry = b""
    with archive.open(name) as stream:
        while True:
            data = stream.read(_CHUNK)
            if not data:
                break
            data = carry + data
            cut = data.rfind(b"<")
            if cut <= 0:
                carry, data = b"", data
            else:
                carry, data = data[cut:], data[:cut]
            if _DTD.search(data):
                raise unreadable()
            yield data
    if carry:
        yield carry


def _check_strings(archive: zipfile.ZipFile, name: str, limits: TableLimits, most: int) -> None:
    if archive.getinfo(name).file_size > limits.strings_bytes:
        raise SpreadsheetError(
            _(
                "The file holds more than %(n)s MB of text: split it into smaller files.",
                n=limits.strings_bytes // 2**20,
            )
        )
    deadline = Deadline(limits.seconds)
    count = tags = 0
    for chunk in _chunks(archive, name):
        pieces = _STRING.split(chunk)
        tags += pieces[0].count(b"<")
        for piece in pieces[1:]:
            if tags > TAGS_PER_PIECE_ALLOWED:
                raise unreadable()
            count += 1
            tags = piece.count(b"<")
        if count > most:
            raise too_many_strings()
        deadline.check()
    if tags > TAGS_PER_PIECE_ALLOWED:
        raise unreadable()


# A row, a cell, a value starts: <row ...>, <x:row ...>, <c r="A1" ...>, <c/>, <v>, <is>.
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is)[\s/>]")
_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
#: Rows and cells with nothing in them (Excel keeps those that were formatted) are allowed
#: beyond the limits, up to these; Excel itself has no more than 16,384 columns.
EMPTY_ROWS_ALLOWED = 10_000
CELLS_PER_ROW_ALLOWED = 16_384
#: Tags in one row or one shared string: rich text has a few dozen a cell; XML nested a
#: million deep in a single cell has a million, and the parser would build them all.
TAGS_PER_PIECE_ALLOWED = 100_000


_ROW_NUMBER = re.compile(rb'(?:[^>]*?\s)?r="(\d{1,9})"')


class _SheetCount:
    """Rows and cells seen so far; rows and cells with a value are held to the limits, the
    others to what Excel writes for formatted empty ones. A row's number is its ``r``
    attribute when it has one (a sheet may jump from row 1 to row 1,048,576)."""

    def __init__(self, limits: TableLimits):
        self.limits = limits
        self.rows = self.rows_with_values = self.number = self.all_values = 0
        self.cells = self.values = self.tags = 0

    def end_row(self) -> None:
        self.all_values += self.values
        if self.all_values > self.limits.cells:
            raise too_many_cells(self.limits)
        if self.values:
            self.rows_with_values += 1
            if self.rows_with_values > self.limits.rows or self.number > self.last_row:
                raise too_many_rows(self.limits)

    @property
    def last_row(self) -> int:
        return self.limits.rows + EMPTY_ROWS_ALLOWED

    def new_row(self, piece: bytes) -> None:
        """A row starts with ``piece`` (what follows its ``<row``)."""
        self.end_row()
        self.rows += 1
        if self.rows > self.last_row:
            raise too_many_rows(self.limits)
        found = _ROW_NUMBER.match(piece, 0, 200)
        self.number = max(self.number + 1, int(found.group(1)) if found else 0)
        self.cells = self.values = self.tags = 0
        self.add(piece)

    def add(self, piece: bytes) -> None:
        self.cells += len(_CELL.findall(piece))
        self.values += len(_VALUE.findall(piece))
        if self.values > self.limits.columns or self.cells > CELLS_PER_ROW_ALLOWED:
            raise too_many_columns(self.limits)
        self.tags += piece.count(b"<")
        if self.tags > TAGS_PER_PIECE_ALLOWED:
            raise unreadable()


def _count_sheet(archive: zipfile.ZipFile, name: str, limits: TableLimits) -> int:
    """Count the sheet's rows and each row's cells from the packed stream, stopping at the
    first limit passed (a million rows is refused after the limit's first rows are seen).
    Returns the number of cells with a value."""
    count = _SheetCount(limits)
    deadline = Deadline(limits.seconds)
    for chunk in _chunks(archive, name):
        pieces = _ROW.split(chunk)
        # The first piece continues the row of the previous chunk; each next one starts a row.
        count.add(pieces[0])
        for piece in pieces[1:]:
            count.new_row(piece)
        deadline.check()
    count.end_row()
    return count.all_values


# --- one import at a time ------------------------------------------------------------------

#: The first key of the advisory locks taken for imports (the second is the account's id).
IMPORT_LOCK_SPACE = 0x1A9E
_local_slots: dict[int, threading.Lock] = {}
_local_guard = threading.Lock()


def busy() -> SpreadsheetError:
    return SpreadsheetError(
        _("Another file of yours is being imported: wait until it is done, then upload this one.")
    )


@contextmanager
def import_slot(user) -> Iterator[None]:
    """Hold the account's one import slot while a file is read and imported; a second import
    of the same account meanwhile is refused at once. On PostgreSQL an advisory lock on a
    connection of its own (every worker and process sees it); on SQLite, the development
    default of one process, a lock in the process."""
    user_id = getattr(user, "id", None)
    if user_id is None:
        yield
        return
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            key = {"space": IMPORT_LOCK_SPACE, "user": int(user_id)}
            got = connection.scalar(sa.text("SELECT pg_try_advisory_lock(:space, :user)"), key)
            connection.commit()
            if not got:
                raise busy()
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:space, :user)"), key)
                connection.commit()
        return
    with _local_guard:
        lock = _local_slots.setdefault(int(user_id), threading.Lock())
    if not lock.acquire(blocking=False):
        raise busy()
    try:
        yield
    finally:
        lock.release()


def one_import_at_a_time(function):
    """Run an import holding its account's import slot; the account is the ``by`` argument."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        by = signature.bind(*args, **kwargs).arguments.get("by")
        with import_slot(by):
            return function(*args, **kwargs)

    return wrapper
