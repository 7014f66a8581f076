"""Writing rows to .xlsx safely: text is always text, never a formula."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet


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
