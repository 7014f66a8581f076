"""Small death and move-out lists written in the test (csv or xlsx), uploaded and processed
through the feed's operations."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import Workbook

from eldercare.core.db import local_today
from eldercare.feeds import operations as ops
from eldercare.feeds.schemas import Upload
from tests.builders import build_person, build_user

HEADERS = ["序号", "死者姓名", "公民身份号码", "火化日期", "殡仪馆"]


def csv_bytes(rows, headers=HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.append(headers)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def death_day():
    """The day a death list says someone died unless told otherwise: ten days ago."""
    return local_today() - timedelta(days=10)


def death_row(n, person, name=None, day=None, source="县殡仪馆"):
    """A row of HEADERS for ``person`` (an id number string works too)."""
    number = person if isinstance(person, str) else person.id_number
    day = day or death_day()
    return [n, name if name is not None else person.name, number, day.isoformat(), source]


def upload(by, content: bytes, name="死亡名单.csv", kind="death", source="县殡仪馆", county=None):
    data = {
        "kind": kind,
        "source_name": source,
        "county_id": county.id if county is not None else None,
        "file": Upload(name, content),
    }
    return ops.upload(data, by)


#: The columns of HEADERS: name 1, ID number 2, date 3, source 4.
MAPPING = {"id_number": 2, "name": 1, "date": 3, "source": 4, "destination": None}


def imported(by, rows, **kw):
    """A list of ``rows`` uploaded and processed with MAPPING."""
    feed_import = upload(by, csv_bytes(rows), **kw)
    return ops.process(feed_import, dict(MAPPING), by)


def second_officer(world):
    return build_user("county_staff", world.county_a)


def people(world, n, **kw):
    return [build_person(world.village_a, **kw) for _ in range(n)]


def grow_imports(world, n: int) -> None:
    """``n`` more processed lists of county A, each leaving one row in the review queue
    (for the list-page bounds: feeds.index and feeds.review)."""
    importer = build_user("county_staff", world.county_a)
    for _ in range(n):
        person = build_person(world.village_a)
        imported(importer, [death_row(1, person, name="别名")])
