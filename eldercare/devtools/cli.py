"""The developer tools' commands: ``flask demo`` and ``flask bench visits|subsidies|city``.

Registered through the ``flask.commands`` entry points (pyproject.toml), never by
``create_app``; what each command runs is imported when it runs."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from eldercare.devtools.bench.table import CITY, STEPS
from eldercare.extensions import db


@click.command("demo")
@click.option(
    "--people", default=2000, show_default=True, help="How many elderly people (demo scale)."
)
@click.option("--seed", default=2026, show_default=True, help="Random seed (same seed, same data).")
@click.option(
    "--scale",
    type=click.Choice(["demo", "small", "county", "city"]),
    default="demo",
    show_default=True,
    help="demo: the demo data; city: a whole city's data (1,000,000 elderly people); county"
    " and small: a tenth and a hundredth of it. The scales need an empty database.",
)
@with_appcontext
def demo(people: int, seed: int, scale: str) -> None:
    """Load demo data for 宝鸡市 (skipped if it is already there), or with --scale a city's
    worth of synthetic data into an empty database (small takes seconds, city minutes)."""
    from eldercare.devtools.demo import load_demo

    if current_app.config.get("REQUIRED_SECRETS"):
        raise click.ClickException(
            "demo data (with published passwords) is refused under the production settings"
        )
    if scale != "demo":
        _load_scale(scale, seed)
        return

    summary = load_demo(people=people, seed=seed)
    db.session.commit()
    click.echo(summary)


def _load_scale(name: str, seed: int) -> None:
    """Load a scale, commit it, refresh the planner's statistics; seconds per stage."""
    from eldercare.devtools.demo.data import DEMO_PASSWORD
    from eldercare.devtools.scale import ScaleError, analyze, load_scale

    started = time.perf_counter()
    click.echo(f"loading the {name} scale (seed {seed}, {db.engine.dialect.name})")
    try:
        build = load_scale(name, seed, log=click.echo)
    except ScaleError as err:
        db.session.rollback()
        raise click.ClickException(str(err)) from None
    committed = time.perf_counter()
    db.session.commit()
    click.echo(f"{'commit':<11}{time.perf_counter() - committed:7.1f} s")
    analyzed = time.perf_counter()
    analyze()
    click.echo(f"{'analyze':<11}{time.perf_counter() - analyzed:7.1f} s")
    click.echo(f"{'total':<11}{time.perf_counter() - started:7.1f} s")
    click.echo(", ".join(f"{table} {n:,}" for table, n in sorted(build.counts.items())))
    click.echo(f"every account's password: {DEMO_PASSWORD}")


bench_cli = AppGroup("bench", help="Benchmarks (not part of the test run).")


@bench_cli.command("visits")
@click.option("--targets", default=120_000, show_default=True, help="Care plans to build.")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the figures here.")
def bench_visits(targets: int, json_out: str | None) -> None:
    """Time due-visit computation and reminder enqueue for many care plans (use an empty
    database of its own: it is filled with synthetic plans)."""
    from eldercare.devtools.bench import visits

    visits.run_bench(targets, json_out)


@bench_cli.command("subsidies")
@click.option("--people", default=300_000, show_default=True, help="Enrolments to build.")
@click.option(
    "--explain",
    is_flag=True,
    help="EXPLAIN ANALYZE generation's INSERT first (run and rolled back: twice the time).",
)
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the figures here.")
def bench_subsidies(people: int, explain: bool, json_out: str | None) -> None:
    """Time a month's subsidy batch for many enrolments: generation against a bare INSERT
    ... SELECT, the checks, approval and the bank file (use an empty database of its own:
    it is filled with synthetic people)."""
    from eldercare.devtools.bench import subsidies

    subsidies.run_bench(people, explain, json_out)


@bench_cli.command("feeds")
@click.option("--people", default=50_000, show_default=True, help="People in the county.")
@click.option("--rows", default=10_000, show_default=True, help="Rows of the death list.")
@click.option("--baseline", default=2_000, show_default=True, help="Deaths recorded one by one.")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the figures here.")
def bench_feeds(people: int, rows: int, baseline: int, json_out: str | None) -> None:
    """Time a death-list import against the 30 s target (use an empty database of its own)."""
    from eldercare.devtools.bench import feeds

    feeds.run_bench(people, rows, baseline, json_out)


@bench_cli.command("city")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the figures here.")
@click.option("--duration", default=10.0, show_default=True, help="Seconds of load per endpoint.")
@click.option("--concurrency", default=4, show_default=True, help="Client users per endpoint.")
@click.option("--workers", default=2, show_default=True, help="gunicorn workers.")
@click.option(
    "--min-requests",
    default=20,
    show_default=True,
    help="Keep loading a slow endpoint past --duration until this many answers (at most 6x).",
)
@click.option(
    "--skip",
    multiple=True,
    help=f"Steps to leave out (repeat, or comma-separated): {', '.join(STEPS)}.",
)
@click.option(
    "--roster-rows", default=CITY["roster_rows"], show_default=True, help="Rows of the roster."
)
@click.option(
    "--roster-format",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="The roster file's format.",
)
@click.option("--password", help="The demo users' password (default: the demo's).")
def bench_city(
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
    """Every figure of the city-scale requirement, measured on the database as it is (fill it
    with `flask demo --scale city`): subsidy generation against a bare INSERT, the visit jobs,
    the web pages under load from a second process against gunicorn, the bulk bed update, the
    roster import and the workers' memory. Prints one table; leaves the data as it found it."""
    from eldercare.devtools.bench import city

    city.run_bench(
        json_out,
        duration,
        concurrency,
        workers,
        min_requests,
        skip,
        roster_rows,
        roster_format,
        password,
    )
