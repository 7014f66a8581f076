"""Every export and print view a user is offered opens, for every month of the demo's data:
a workbook openpyxl reads, a CSV that parses, a calendar file, a printable page; and the
figures of an export are the figures of the page it was offered on.

The files come from the walk (the links each role is shown), so an export added later is
opened here without anyone listing it."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit

import lxml.html
import openpyxl
import pytest
from icalendar import Calendar

from tests.walk.conftest import demo_user
from tests.walk.crawl import shape, walk

#: The users who are offered files, and the demo's months (its data reaches a year back).
EXPORTERS = ("admin", "county", "township", "operator", "daycare", "family")
MONTH_PARAMS = ("month", "period")
#: Dates and times in a cell are no figures: 2026-11-20, 2026年11月, 08:30.
DATES = re.compile(
    r"\d{4}-\d{1,2}(?:-\d{1,2})?|\d{4}年(?:\d{1,2}月)?(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日"
    r"|\b\d{1,2}[-/]\d{1,2}\b|\d{1,2}:\d{2}"
)
NUMBER = re.compile(r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d,])")
#: Machine files for a bank's import: their columns are the bank's, with no title rows.
MACHINE = re.compile(r"/bank-file\.|\.ics$")
#: Reports: their figures are the figures of the page that offers them. (A registry or a
#: ledger holds more columns than its list page shows.)
REPORT = re.compile(r"(overview|report|reports)\.xlsx")


def demo_months(today: date) -> list[str]:
    months, year, month = [], today.year, today.month
    for _ in range(13):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def with_month(url: str, month: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    keys = {k for k, _v in query}
    if not keys & set(MONTH_PARAMS):
        return url
    query = [(k, month if k in MONTH_PARAMS else v) for k, v in query]
    return parts.path + "?" + urlencode(query)


def table_numbers(html: str) -> set[float]:
    """The figures in the page's tables (cells apart: a table's 笔数 and 金额 are neighbours)."""
    tree = lxml.html.fromstring(html)
    numbers = set()
    for cell in tree.xpath("//table//td|//table//th"):
        numbers.update(
            round(float(n.replace(",", "")), 2)
            for n in NUMBER.findall(DATES.sub(" ", " ".join(cell.itertext())))
        )
    return numbers


def workbook_numbers(book) -> set[float]:
    numbers = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, bool):
                    continue
                if isinstance(value, int | float):
                    numbers.add(round(float(value), 2))
                elif isinstance(value, str):  # "未运营2个", "在用床位70张"
                    numbers.update(
                        round(float(n.replace(",", "")), 2)
                        for n in NUMBER.findall(DATES.sub(" ", value))
                    )
    return numbers


def open_file(url: str, response) -> object:
    path = urlsplit(url).path
    body = response.get_data()
    if path.endswith(".xlsx"):
        return openpyxl.load_workbook(io.BytesIO(body), read_only=False)
    if path.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows, url
        return rows
    if path.endswith(".ics"):
        return Calendar.from_ical(body)
    assert response.mimetype == "text/html", url
    return lxml.html.fromstring(response.get_data(as_text=True))


@pytest.mark.parametrize("username", EXPORTERS)
def test_every_export_and_print_opens_for_every_month(client, auth, demo, username):
    from eldercare.core.db import local_today

    auth.login_as(demo_user(username))
    found = walk(client)
    assert found.files or username == "admin" or username == "family"
    problems = []
    seen = set()
    for url, page in sorted(found.files.items()):
        if shape(url) in seen:
            continue  # one of each: the region's county and its township export alike
        seen.add(shape(url))
        months = demo_months(local_today()) if with_month(url, "x") != url else [None]
        for month in months:
            target = with_month(url, month) if month else url
            response = client.get(target)
            if response.status_code != 200:
                problems.append(f"{target} (offered on {page}): {response.status_code}")
                continue
            try:
                opened = open_file(target, response)
            except Exception as error:  # whatever a user's program would meet
                problems.append(f"{target}: does not open ({error!r})")
                continue
            if isinstance(opened, openpyxl.Workbook) and REPORT.search(target):
                # The page it was offered on, showing what the file holds (same filters).
                query = urlsplit(target).query
                source = client.get(urlsplit(page).path + (f"?{query}" if query else ""))
                shown = table_numbers(source.get_data(as_text=True))
                missing = shown - workbook_numbers(opened)
                if missing:
                    problems.append(
                        f"{target}: figures of the page missing: {sorted(missing)[:10]}"
                    )
    assert not problems, "\n".join(problems)
