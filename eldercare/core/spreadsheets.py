"""Tables in and out: reading an uploaded .xlsx/.csv as text rows with row-by-row error
reports, and writing .xlsx rows safely (text is always text, never a formula)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from eldercare.core.upload_limits import (
    EMPTY_ROWS_ALLOWED,
    Deadline,
    SpreadsheetError,
    TableLimits,
    check_xlsx,
    too_many_columns,
    too_many_rows,
    unreadable,
)

__all__ = ["SpreadsheetError", "TableLimits"]


@dataclass
class RowError:
    row: int
    column: str
    reason: str


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(filename: str, content: bytes, limits: TableLimits) -> list[list[str]]:
    """Rows of cells as text from an .xlsx or .csv file (UTF-8, or GB18030 from Excel), read
    within ``limits``: an .xlsx is checked before it is parsed (see upload_limits), and
    either kind is read row by row, stopping at the first limit passed."""
    lower = filename.lower()
    deadline = Deadline(limits.seconds)
    if lower.endswith(".xlsx"):
        check_xlsx(content, limits)
        try:
            # Read-only mode parses the sheet while iterating: a damaged sheet fails here too.
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                # Columns past the limit are not read (like any column no import knows; the
                # check counted the cells with a value), and a declared dimension of a
                # million rows or columns pads nothing past the limits.
                rows = wb.worksheets[0].iter_rows(
                    values_only=True,
                    max_col=limits.columns,
                    max_row=limits.rows + EMPTY_ROWS_ALLOWED,
                )
                return _bounded(([_cell(v) for v in row] for row in rows), limits, deadline)
            finally:
                wb.close()
        except SpreadsheetError:
            raise
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise unreadable() from exc
    if lower.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise SpreadsheetError(_("The CSV file is neither UTF-8 nor GB18030 text."))
        if "\x00" in text:  # UTF-16 "Unicode text" or a binary file renamed to .csv
            raise SpreadsheetError(_("The CSV file is neither UTF-8 nor GB18030 text."))
        try:
            rows = csv.reader(io.StringIO(text))
            return _bounded(([c.strip() for c in row] for row in rows), limits, deadline)
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise SpreadsheetError(
                _("The CSV file cannot be read: a cell is too long or the file is damaged.")
            ) from exc
    raise SpreadsheetError(_("Upload an .xlsx or .csv file."))


def _bounded(rows, limits: TableLimits, deadline: Deadline) -> list[list[str]]:
    """The rows up to the last one with something in it, all as wide as the widest, refused
    at the first row past the row limit or the first cell past the column limit that holds
    something."""
    table: list[list[str]] = []
    filled = 0  # rows up to the last one with something in it
    for number, row in enumerate(rows, start=1):
        while row and not row[-1]:
            row.pop()
        if len(row) > limits.columns:
            raise too_many_columns(limits)
        table.append(row)
        if any(row):
            filled = len(table)
            if filled > limits.rows:
                raise too_many_rows(limits)
        elif len(table) - filled > EMPTY_ROWS_ALLOWED:
            break
        if number % 1000 == 0:
            deadline.check()
    del table[filled:]
    width = max((len(row) for row in table), default=0)
    for row in table:
        row.extend([""] * (width - len(row)))
    return table


def rows_of(
    table: list[list[str]],
    headers: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    max_rows: int,
) -> tuple[dict[int, str], list[list[str]], list[RowError]]:
    """Checks shared by every import: a header with the required columns, at least one data
    row, not too many. Returns (column mapping, data rows, errors); data rows start at row 2."""
    while table and not any(table[-1]):
        table.pop()
    if not table:
        return {}, [], [RowError(1, "", _("The file is empty."))]
    mapping, missing = map_header(table[0], headers, required)
    if missing:
        reason = _("Required columns are missing from the header row.")
        return {}, [], [RowError(1, "、".join(missing), reason)]
    body = table[1:]
    if not any(any(cells) for cells in body):
        # A header row alone is as empty as no file at all: nothing would be imported.
        return {}, [], [RowError(2, "", _("The file is empty."))]
    if len(body) > max_rows:
        return {}, [], [RowError(1, "", _("At most %(n)s rows in one file.", n=max_rows))]
    return mapping, body, []


def map_header(
    header: list[str], headers: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> tuple[dict[int, str], list[str]]:
    """Which column holds which field (by any of its accepted headings, or the field name),
    and the headings of required fields that are missing."""
    lookup = {}
    for key, names in headers.items():
        for name in (*names, key):
            lookup[name.strip().lower()] = key
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        key = lookup.get(title.strip().lower())
        if key and key not in mapping.values():
            mapping[index] = key
    missing = [headers[k][0] for k in required if k not in mapping.values()]
    return mapping, missing


def append_row(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> None:
    """Append a row; strings are stored as text even when they start with = + - @, so a name
    like ``=HYPERLINK(...)`` typed into a form cannot become a live formula in Excel."""
    cells = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    sheet.append(cells)


@dataclass(frozen=True)
class ExportHeader:
    """What every export and print says before its table: what it is, of which area, when it
    was made and by whom (a ledger filed away must say so on its face). In Chinese, as the
    column titles: the files are filed with the county's paperwork."""

    title: str
    area: str
    made_by: str
    made_at: datetime
    #: The filters that chose the rows ("" when it is everything in the area).
    filters: str = ""

    @classmethod
    def of(cls, title: str, area: str, user, filters: str = "") -> ExportHeader:
        from eldercare.core.db import utcnow

        name = getattr(user, "display_name", None) or getattr(user, "username", "") or "系统"
        return cls(title=title, area=area, made_by=name, made_at=utcnow(), filters=filters)

    def lines(self) -> list[str]:
        """The header as lines of text, for a sheet's first rows and a printed page alike."""
        from eldercare.core.db import local_zone

        made = self.made_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
        lines = [self.title, f"地区：{self.area}", f"制表人：{self.made_by}　制表时间：{made}"]
        if self.filters:
            lines.append(f"筛选条件：{self.filters}")
        return lines


def write_header(sheet: WriteOnlyWorksheet, header: ExportHeader) -> int:
    """The header's lines as the sheet's first rows, then a blank row; returns the number of
    rows written, so a reader knows the table's column titles follow them."""
    lines = header.lines()
    for line in lines:
        append_row(sheet, [line])
    sheet.append([])
    return len(lines) + 1
