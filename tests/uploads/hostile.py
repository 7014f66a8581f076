"""Hostile .xlsx files, written part by part as a zip archive (openpyxl would take minutes to
write a million rows): each is small to upload and huge, deep or wide once unpacked."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE}">'
    f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{_OFFICE}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE}">'
    f'<Relationship Id="rId1" Type="{_OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_OFFICE}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET_START = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode()


def inline(text: str) -> bytes:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def header(*titles: str) -> bytes:
    return b'<row r="1">' + b"".join(inline(t) for t in titles) + b"</row>"


def workbook(sheet: Iterable[bytes], strings: Iterable[bytes] = ()) -> bytes:
    """An .xlsx of one sheet, its XML written from ``sheet``'s pieces (and the shared strings
    from ``strings``'), packed as tightly as zip packs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        for name, pieces in (
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", strings or [f'<sst xmlns="{MAIN}"/>'.encode()]),
        ):
            with archive.open(name, "w", force_zip64=True) as part:
                for piece in pieces:
                    part.write(piece)
    return out.getvalue()


def sheet(titles: tuple[str, ...], body: Iterable[bytes], before: bytes = b"") -> Iterable[bytes]:
    yield SHEET_START + before + b"<sheetData>" + header(*titles)
    yield from body
    yield b"</sheetData></worksheet>"


def repeated(piece: bytes, times: int) -> Iterable[bytes]:
    batch = 10_000
    for _ in range(times // batch):
        yield piece * batch
    yield piece * (times % batch)


TITLES = ("姓名", "身份证号", "区划代码")


def bomb(megabytes: int = 300) -> bytes:
    """One cell of ``megabytes`` of the same letter: a zip bomb a thousand to one."""
    text = repeated(b"a" * 100, megabytes * 10_000)
    cell = [b'<row><c t="inlineStr"><is><t>', *text, b"</t></is></c></row>"]
    return workbook(sheet(TITLES, cell))


def million_rows() -> bytes:
    return workbook(sheet(TITLES, repeated(b"<row>" + inline("张三") + b"</row>", 1_000_000)))


def million_columns() -> bytes:
    return workbook(sheet(TITLES, [b"<row>", *repeated(inline("x"), 1_000_000), b"</row>"]))


def deep_xml(depth: int = 1_000_000) -> bytes:
    """A cell nested a million elements deep."""
    cell = [b'<row><c t="inlineStr"><is>', b"<r>" * depth, b"</r>" * depth, b"</is></c></row>"]
    return workbook(sheet(TITLES, cell))


def huge_shared_strings(count: int = 1_500_000) -> bytes:
    """A table of 1.5 million shared strings (75 MB) behind a sheet of one row."""
    strings = [
        f'<sst xmlns="{MAIN}">'.encode(),
        *repeated(b"<si><t>" + b"x" * 40 + b"</t></si>", count),
        b"</sst>",
    ]
    return workbook(sheet(TITLES, []), strings)


def many_shared_strings(count: int = 3_000_000) -> bytes:
    """Three million one-letter shared strings (under the size bound), used by no cell."""
    strings = [f'<sst xmlns="{MAIN}">'.encode(), *repeated(b"<si><t>x</t></si>", count), b"</sst>"]
    return workbook(sheet(TITLES, []), strings)


def entities() -> bytes:
    """The billion laughs: entities that expand to entities."""
    dtd = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">'.encode() for n in range(8)
    )
    start = b'<?xml version="1.0" encoding="UTF-8"?>' + dtd + b"]>" + SHEET_START[38:]
    return workbook(
        [
            start,
            b"<sheetData>",
            header(*TITLES),
            b"<row>",
            inline("&i;"),
            b"</row>",
            b"</sheetData></worksheet>",
        ]
    )


def far_row() -> bytes:
    """Row 1 and then row 1,048,576: a reader would make the million rows between."""
    far = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    return workbook(sheet(TITLES, [far]))


def wide_dimension(rows: int = 50) -> bytes:
    """A small sheet that declares itself 16,384 columns by a million rows."""
    body = repeated(b"<row>" + inline("张三") + b"</row>", rows)
    return workbook(sheet(TITLES, body, before=b'<dimension ref="A1:XFD1048576"/>'))


HOSTILE = {
    "zip bomb": bomb,
    "a million rows": million_rows,
    "a million columns": million_columns,
    "deep XML": deep_xml,
    "huge shared strings": huge_shared_strings,
    "many shared strings": many_shared_strings,
    "entities": entities,
    "row 1048576": far_row,
}
