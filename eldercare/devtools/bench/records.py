"""The city benchmark's registry figures: a roster import of many people and the
largest exports a county's staff make."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.db import local_today
from eldercare.devtools.bench.data import active_user, rolled_back, vacuum
from eldercare.devtools.bench.table import (
    CITY,
    ROSTER_LIMIT_S,
    Figure,
    NotRunnable,
    scale_row,
    secs,
)
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.visits.models import CareTarget

ROSTER_HEADER = (
    "姓名",
    "身份证号",
    "性别",
    "联系电话",
    "住址",
    "区划代码",
    "独居",
    "空巢",
    "经济状况",
)


def _roster_importer() -> User:
    user = active_user("county") or active_user("admin")
    if user is None:
        raise NotRunnable("neither 'county' nor 'admin' is an active user")
    return user


def roster_rows(rows: int, by: User, seed: int = 17) -> list[tuple]:
    """``rows`` valid roster lines for villages in ``by``'s area: distinct synthetic ID
    numbers, none already registered."""
    from eldercare.core import resident_id
    from eldercare.people.models import id_number_index

    stmt = sa.select(Region.code).where(Region.level == "village", Region.abolished_on.is_(None))
    if by.region is not None:
        stmt = stmt.where(Region.code.startswith(by.region.prefix))
    villages = db.session.scalars(stmt.order_by(Region.code)).all()
    if not villages:
        raise NotRunnable(f"no village in the area of {by.username!r} to import people into")
    rng = random.Random(seed)
    today = local_today()
    numbers: dict[str, str] = {}  # blind index -> number
    while len(numbers) < rows:
        fresh = {}
        while len(numbers) + len(fresh) < rows:
            village = villages[rng.randrange(len(villages))]
            born = today - timedelta(days=rng.randrange(60 * 365, 95 * 365))
            number = resident_id.synthesise(village[:6], born, rng.choice("MF"), rng)
            digest = id_number_index(number)
            if digest not in numbers:
                fresh[digest] = number
        digests = list(fresh)
        for start in range(0, len(digests), 1000):
            for taken in db.session.scalars(
                sa.select(Person.id_number_index).where(
                    Person.id_number_index.in_(digests[start : start + 1000])
                )
            ):
                fresh.pop(taken, None)
        numbers.update(fresh)
    out = []
    for n, number in enumerate(numbers.values()):
        out.append(
            (
                f"导入{n}",
                number,
                "男" if int(number[16]) % 2 else "女",
                f"139{rng.randrange(10**8):08d}",
                f"{n % 97 + 1}号",
                villages[n % len(villages)],
                "是" if n % 5 == 0 else "否",
                "是" if n % 7 == 0 else "否",
                "无",
            )
        )
    return out


def roster_file(rows: list[tuple], fmt: str) -> tuple[str, bytes]:
    """The rows as an .xlsx workbook or a UTF-8 .csv, as a township would upload them."""
    import csv
    import io

    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(ROSTER_HEADER)
        writer.writerows(rows)
        return "bench-roster.csv", text.getvalue().encode("utf-8")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("花名册")
    sheet.append(ROSTER_HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return "bench-roster.xlsx", buffer.getvalue()


def measure_roster(rows: int, fmt: str) -> tuple[list[Figure], dict]:
    """``people.roster.import_roster`` (what /people/import runs) on a file of ``rows``
    people, timed up to the point where every row is written (flushed); then rolled back
    instead of the page's commit."""
    from eldercare.people import roster

    by = _roster_importer()
    by_id, by_name = by.id, by.username
    started = time.perf_counter()
    filename, content = roster_file(roster_rows(rows, by), fmt)
    made_s = time.perf_counter() - started
    db.session.commit()
    with rolled_back():
        importer = db.session.get(User, by_id)
        started = time.perf_counter()
        result = roster.import_roster(filename, content, importer)
        import_s = time.perf_counter() - started
    vacuum("person", "audit_log")
    if not result.ok:
        first = result.errors[0]
        raise RuntimeError(
            f"{len(result.errors)} rows refused, e.g. row {first.row} {first.column}: "
            f"{first.reason}"
        )
    figures = [
        scale_row("roster.rows", f"roster: rows in the {fmt} file", rows, CITY["roster_rows"]),
        Figure(
            "roster.import_s",
            f"roster: import of {result.created:,} people ({fmt}, as {by_name})",
            round(import_s, 2),
            secs(import_s),
            f"< {ROSTER_LIMIT_S} s",
            import_s < ROSTER_LIMIT_S,
        ),
    ]
    details = {
        "rows": rows,
        "format": fmt,
        "bytes": len(content),
        "file_made_s": round(made_s, 2),
        "import_s": round(import_s, 2),
        "created": result.created,
        "as": by_name,
        "how": "people.roster.import_roster, as the /people/import page calls it; rolled back "
        "instead of committed",
    }
    return figures, details


def _streamed(make) -> tuple[float, float, object]:
    """Seconds ``make()`` takes, then its peak Python memory (MiB, traced in a second run:
    tracing slows it down) and its result; the file it returns is deleted."""
    import os
    import tracemalloc

    started = time.perf_counter()
    path, result = make()
    took = time.perf_counter() - started
    os.unlink(path)
    tracemalloc.start()
    try:
        path, _again = make()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    os.unlink(path)
    return took, peak, result


def measure_exports() -> tuple[list[Figure], dict]:
    """The largest exports a county's staff make, as their pages make them: the county's
    whole elderly registry and last month's visit ledger. Streamed: rows are fetched in
    batches and written by a write-only workbook, so memory stays flat whatever the size."""
    from eldercare.core.permissions import scope_clause, visible
    from eldercare.people.roster import export_people_xlsx
    from eldercare.visits import coverage

    county = active_user("county")
    if county is None or county.region is None:
        raise NotRunnable("no active user 'county' with an area")
    people_stmt = visible(Person, county)
    people = db.session.scalar(sa.select(sa.func.count()).select_from(people_stmt.subquery()))
    month = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    region = county.region
    scope = scope_clause(CareTarget, county)
    figures, details = [], {}
    for key, what, make in (
        (
            "people",
            f"{people:,} people of {region.name}",
            lambda: (export_people_xlsx(people_stmt), people),
        ),
        (
            "ledger",
            f"visit ledger of {region.name}, {month:%Y-%m}",
            lambda: coverage.ledger_xlsx(region, month, scope),
        ),
    ):
        took, peak, rows = _streamed(make)
        figures.append(
            Figure(
                f"exports.{key}",
                f"export: {what} (.xlsx)",
                round(took, 2),
                f"{secs(took)}, {rows:,} rows, peak {peak:.0f} MiB",
                "streamed",
                peak < 64,
                "peak: Python memory traced while it ran (a second run)",
            )
        )
        details[key] = {"rows": rows, "seconds": round(took, 2), "peak_mib": round(peak, 1)}
    db.session.rollback()
    return figures, details
