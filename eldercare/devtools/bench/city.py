"""`flask bench city`: every figure of the city-scale requirement on the database it is
pointed at (filled by `flask demo --scale city`), left as it was found: the jobs run in a
transaction that is rolled back, the HTTP load only reads, the bulk bed update is undone by a
second request (the audit log keeps both, as it must), and the API tokens it mints are
revoked. The web figures come from gunicorn on loopback, loaded from a second process."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import click
import sqlalchemy as sa

from eldercare.devtools.bench.records import measure_exports, measure_roster
from eldercare.devtools.bench.subsidies import measure_subsidies
from eldercare.devtools.bench.table import (
    CITY,
    STEPS,
    Figure,
    NotRunnable,
    failed_row,
    render_table,
    report,
)
from eldercare.devtools.bench.visits import measure_visits
from eldercare.devtools.bench.web import measure_web
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people.models import Person
from eldercare.visits.models import CareTarget


def data_counts() -> dict:
    """How much the database holds (for the JSON and the scale rows)."""
    from eldercare.beds.models import Bed
    from eldercare.facilities.models import Facility
    from eldercare.subsidies.models import Enrolment, Payment

    def count(model, *where) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    out = {
        "people": count(Person),
        "facilities": count(Facility),
        "beds": count(Bed),
        "care_targets_active": count(CareTarget, CareTarget.active.is_(True)),
        "enrolments_active": count(Enrolment, Enrolment.status == "active"),
        "payments": count(Payment),
        "outbox": count(OutboxMessage),
    }
    db.session.commit()
    return out


def run_city(
    steps: set[str],
    *,
    duration: float = 10.0,
    concurrency: int = 4,
    workers: int = 2,
    min_requests: int = 20,
    roster_rows_count: int = CITY["roster_rows"],
    roster_format: str = "xlsx",
    password: str | None = None,
    echo=print,
) -> tuple[list[Figure], dict]:
    """Every step asked for, in an order that leaves the timed web load a database no step
    has touched yet; a step that fails or cannot run is a row of the table, not a crash."""
    import os
    import traceback

    from eldercare.devtools.demo.data import DEMO_PASSWORD

    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))  # statistics as they would be after a night
    details: dict = {
        "database": {"dialect": dialect, "url": db.engine.url.render_as_string()},
        "counts": data_counts(),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
        "settings": {
            "steps": sorted(steps),
            "duration_s": duration,
            "concurrency": concurrency,
            "workers": workers,
            "min_requests": min_requests,
            "roster_rows": roster_rows_count,
            "roster_format": roster_format,
        },
        "errors": {},
    }
    figures: list[Figure] = []
    now = datetime.now(UTC)

    def attempt(step: str, fn) -> None:
        echo(f"-- {step} ...")
        started = time.perf_counter()
        try:
            got, detail = fn()
        except Exception as exc:  # the table says what went wrong; the JSON has the trace
            db.session.rollback()
            figures.append(failed_row(step, exc))
            if not isinstance(exc, NotRunnable):
                details["errors"][step] = traceback.format_exc()
        else:
            figures.extend(got)
            details[step] = detail
        echo(f"   {step}: {time.perf_counter() - started:.1f} s")

    web = {"load", "bulk"} & steps
    if web:
        attempt(
            "web",
            lambda: measure_web(
                web,
                workers=workers,
                duration=duration,
                concurrency=concurrency,
                min_requests=min_requests,
                password=password or DEMO_PASSWORD,
            ),
        )
    if "subsidies" in steps:
        attempt("subsidies", measure_subsidies)
    if "visits" in steps:
        attempt("visits", lambda: measure_visits(now))
    if "roster" in steps:
        attempt("roster", lambda: measure_roster(roster_rows_count, roster_format))
    if "exports" in steps:
        attempt("exports", measure_exports)
    order = [
        "subsidies",
        "visits",
        "overview",
        "load",
        "bulk",
        "memory",
        "roster",
        "exports",
        "web",
    ]
    figures.sort(key=lambda f: order.index(f.key.split(".")[0]))
    details["machine"]["loadavg_at_end"] = os.getloadavg()
    return figures, details


def run_bench(
    json_out: str | None,
    duration: float,
    concurrency: int,
    workers: int,
    min_requests: int,
    skip: tuple[str, ...],
    roster_rows: int,
    roster_format: str,
    password: str | None,
) -> None:
    """`flask bench city`: the steps not skipped, then the table (and the JSON if asked)."""
    import os

    skipped = {s.strip() for item in skip for s in item.split(",") if s.strip()}
    unknown = skipped - set(STEPS)
    if unknown:
        raise click.BadParameter(
            f"unknown steps: {', '.join(sorted(unknown))}", param_hint="--skip"
        )
    steps = set(STEPS) - skipped
    started = time.perf_counter()
    figures, details = run_city(
        steps,
        duration=duration,
        concurrency=concurrency,
        workers=workers,
        min_requests=min_requests,
        roster_rows_count=roster_rows,
        roster_format=roster_format,
        password=password,
        echo=click.echo,
    )
    for step in sorted(skipped):
        figures.append(Figure(f"{step}.skipped", step, None, "skipped (--skip)"))
    counts = details["counts"]
    click.echo("")
    click.echo(
        f"city benchmark on {details['database']['dialect']}: {counts['people']:,} people, "
        f"{counts['beds']:,} beds, {counts['care_targets_active']:,} care plans, "
        f"{counts['enrolments_active']:,} enrolments; {workers} gunicorn workers, "
        f"{concurrency} locust users, {duration:g} s per endpoint; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    click.echo(render_table(figures))
    if json_out:
        os.makedirs(os.path.dirname(os.path.abspath(json_out)), exist_ok=True)
        with open(json_out, "w", encoding="utf-8") as handle:
            json.dump(report(figures, **details), handle, indent=2, ensure_ascii=False, default=str)
        click.echo(f"written: {json_out}")
