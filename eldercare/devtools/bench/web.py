"""The city benchmark's web figures: gunicorn on loopback with the endpoints loaded from a
second process (locust, ``devtools.loadclient``), the bulk bed update through the API, the
workers' memory."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.db import local_today
from eldercare.devtools import load
from eldercare.devtools.bench.data import active_user, user_account
from eldercare.devtools.bench.table import (
    BULK_LIMIT_S,
    CITY,
    OVERVIEW_P95_MS,
    VACANCY_P95_MS,
    Figure,
    NotRunnable,
    failed_row,
    scale_row,
    secs,
)
from eldercare.devtools.loadclient import Request
from eldercare.extensions import db


def _server_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    # The same database and settings as this process (ELDERCARE_CONFIG passes through as it
    # is: unset means production for both).
    env["DATABASE_URL"] = db.engine.url.render_as_string(hide_password=False)
    return env


def _token(user_id: int, name: str) -> tuple[int, str]:
    from eldercare.auth import operations as auth_ops

    token, secret = auth_ops.create_token(db.session.get(User, user_id), name, 1)
    token_id = token.id
    db.session.commit()
    return token_id, secret


def _revoke(token_ids: list[int]) -> None:
    from eldercare.auth import operations as auth_ops
    from eldercare.auth.models import ApiToken

    for token_id in token_ids:
        token = db.session.get(ApiToken, token_id)
        if token is not None:
            auth_ops.revoke_token(token, token.user)
    db.session.commit()


def load_requests(sign_in, mint) -> tuple[list, dict[str, str]]:
    """The endpoints to load (the trivial one first) and, for each that cannot be loaded,
    why. ``sign_in(username)`` gives a Cookie header, ``mint(user_id)`` a bearer token."""
    county, visitor, operator = (
        user_account("county"),
        user_account("visitor"),
        user_account("operator"),
    )
    region = f"&region_id={county['region_id']}" if county and county["region_id"] else ""
    requests = [
        Request("healthz", "/healthz"),
        Request("vacancy search", "/public/facilities"),
        Request(
            "vacancy search, filtered",
            f"/public/facilities?care_type=nursing&free_only=1{region}",
        ),
    ]
    missing: dict[str, str] = {}

    def add(name: str, path: str, account: dict | None, bearer: bool = False) -> None:
        if account is None:
            missing[name] = why[name]
            return
        try:
            if bearer:
                headers = {"Authorization": f"Bearer {mint(account['id'])}"}
            else:
                headers = {"Cookie": sign_in(account["username"])}
        except load.SignInFailed as exc:
            missing[name] = str(exc)
            return
        requests.append(Request(name, path, headers=headers))

    if operator is not None and not operator["facility_id"]:
        operator = None
    why = {
        "bed board": "no active user 'operator' bound to a facility",
        "visitor due list": "no active user 'visitor'",
        "visitor due list (API)": "no active user 'visitor'",
        "county overview": "no active user 'county'",
    }
    facility_id = operator["facility_id"] if operator else 0
    add("bed board", f"/facilities/{facility_id}/beds", operator)
    add("visitor due list", "/visits/", visitor)
    add("visitor due list (API)", "/api/v1/visits/due", visitor, bearer=True)
    add("county overview", "/dashboard/overview", county)
    return requests, missing


#: What a latency row measures, where it is not plain.
LATENCY_NOTES = {
    "county overview": "the page served from its kept snapshot, as the overview-refresh job "
    "keeps it; computing it from the records is the 'computed from the records' row",
}


LATENCY_TARGETS = {
    "vacancy search": VACANCY_P95_MS,
    "vacancy search, filtered": VACANCY_P95_MS,
    "county overview": OVERVIEW_P95_MS,
}


def load_figures(results: list[dict], missing: dict[str, str]) -> list[Figure]:
    """Two rows per endpoint: latency (p50/p95/p99, errors) and throughput as a ratio to the
    trivial endpoint's. An endpoint that answered anything but 200 has not met its target."""
    base = next((r for r in results if r["name"] == "healthz"), None)
    base_rps = base["rps"] if base else None
    figures = []
    for r in results:
        lat = r["latency_ms"]
        limit = LATENCY_TARGETS.get(r["name"])
        errors = r["errors"]
        note = LATENCY_NOTES.get(r["name"], "")
        if errors:
            statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
            note = f"{r['name']}: {errors} of {r['requests']} answers were errors ({statuses})" + (
                f"; {note}" if note else ""
            )
        if lat["p95"] is None:
            shown = "no successful answer"
        else:
            shown = f"p50 {lat['p50']:.0f} / p95 {lat['p95']:.0f} / p99 {lat['p99']:.0f} ms"
        if errors:
            shown += f", {errors} errors"
        met = None
        if limit is not None:
            met = lat["p95"] is not None and lat["p95"] < limit and not errors
        elif errors:
            met = False
        figures.append(
            Figure(
                f"load.{r['name']}.latency",
                f"{r['name']}: latency ({r['method']} {r['path'].split('?')[0]})",
                lat["p95"],
                shown,
                f"p95 < {limit} ms" if limit else "–",
                met,
                note,
            )
        )
        ratio = r["rps"] / base_rps if base_rps and r["rps"] is not None else None
        rps = f"{r['rps']:.1f}" if r["rps"] >= 10 else f"{r['rps']:.2f}"
        if r["name"] == "healthz":
            shown = f"{rps} req/s (the baseline)"
        elif ratio is not None:
            shown = (
                f"{rps} req/s = {ratio:.3f}x healthz"
                if ratio >= 0.01
                else f"{rps} req/s = {ratio:.1e}x healthz"
            )
        else:
            shown = "n/a"
        figures.append(
            Figure(
                f"load.{r['name']}.throughput",
                f"{r['name']}: throughput",
                round(ratio, 4) if ratio is not None else None,
                shown,
            )
        )
    for name, why in missing.items():
        figures.append(Figure(f"load.{name}", f"{name}: latency", None, f"not run: {why}"))
    return figures


def measure_overview_compute() -> list[Figure]:
    """How long computing an overview from the records takes (the overview-refresh job's
    work, or a page whose snapshot is missing or stale): the county user's county, and the
    city above it. Each is kept as a snapshot, as the job would, before the load starts."""
    from eldercare.dashboard.snapshots import overview_for
    from eldercare.subsidies.reports import related_programs

    county = active_user("county")
    if county is None or county.region is None:
        db.session.commit()
        return [Figure("overview.compute", "county overview: computed", None, "not run: no user")]
    month = local_today().replace(day=1)
    figures = []
    for region in [county.region] + ([county.region.parent] if county.region.parent else []):
        started = time.perf_counter()
        overview_for(region, month, related_programs(region), fresh=True)
        took = time.perf_counter() - started
        figures.append(
            Figure(
                f"overview.compute.{region.level}",
                f"overview of {region.name} ({region.level}): computed from the records",
                round(took, 2),
                secs(took),
                "–",
                None,
                "served from its snapshot afterwards (dashboard.snapshots)",
            )
        )
    return figures


def bulk_plan(count: int) -> tuple[dict, list[tuple[int, int]]]:
    """The beds of the bulk update and who sends it: ``count`` beds of the operator's own
    facility when it has that many, else the first ``count`` beds as the administrator."""
    from eldercare.beds.models import Bed

    def beds(where=None) -> list[tuple[int, int]]:
        stmt = sa.select(Bed.id, Bed.monthly_price_fen).order_by(Bed.id).limit(count)
        if where is not None:
            stmt = stmt.where(where)
        return [tuple(r) for r in db.session.execute(stmt)]

    operator = user_account("operator")
    if operator is not None and operator["facility_id"]:
        own = beds(Bed.facility_id == operator["facility_id"])
        db.session.commit()
        if len(own) >= count:
            return operator, own
    admin = user_account("admin")
    if admin is None:
        raise NotRunnable(f"the operator has fewer than {count:,} beds and there is no 'admin'")
    chosen = beds()
    db.session.commit()
    if not chosen:
        raise NotRunnable("no beds in the database")
    return admin, chosen


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def measure_bulk(host: str, port: int, user: dict, beds: list, secret: str) -> list[Figure]:
    """POST /api/v1/beds/bulk: every bed's price changed by 1 yuan, then put back; each
    request timed from the client (the larger is the figure)."""

    def send(prices: list[tuple[int, int]]):
        body = json.dumps(
            {"items": [{"bed_id": b, "monthly_price": _yuan(fen)} for b, fen in prices]}
        )
        answer = load.call(
            host,
            port,
            "POST",
            "/api/v1/beds/bulk",
            headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
            body=body,
        )
        if answer.status != 200:
            raise RuntimeError(
                f"the bulk update answered {answer.status}: {answer.body[:300].decode()}"
            )
        return answer.seconds

    changed = [(b, fen - 100 if fen >= 100 else fen + 100) for b, fen in beds]
    change_s = send(changed)
    restore_s = send(beds)
    worst = max(change_s, restore_s)
    return [
        scale_row(
            "bulk.beds",
            f"bulk update: beds in one request (as {user['username']})",
            len(beds),
            CITY["beds"],
        ),
        Figure(
            "bulk.seconds",
            "bulk update of beds through the API",
            round(worst, 3),
            f"{secs(change_s)} change, {secs(restore_s)} undo",
            f"< {BULK_LIMIT_S} s",
            worst < BULK_LIMIT_S,
        ),
    ]


def measure_web(
    steps: set[str],
    *,
    workers: int,
    duration: float,
    concurrency: int,
    min_requests: int,
    password: str,
) -> tuple[list[Figure], dict]:
    """Gunicorn on loopback; each endpoint loaded from a second process; the bulk update;
    then the peak memory of each worker."""
    figures: list[Figure] = []
    details: dict = {"workers": workers, "concurrency": concurrency, "duration_s": duration}
    tokens: list[int] = []
    db.session.commit()
    server = load.Gunicorn(_server_env(), workers=workers)
    try:
        server.start()
        host, port = server.host, server.port
        cookies: dict[str, str] = {}

        def sign_in(username: str) -> str:
            if username not in cookies:
                cookies[username] = load.sign_in(host, port, username, password)
            return cookies[username]

        def mint(user_id: int) -> str:
            token_id, secret = _token(user_id, "benchmark")
            tokens.append(token_id)
            return secret

        if "load" in steps:
            figures += measure_overview_compute()
            requests, missing = load_requests(sign_in, mint)
            db.session.commit()
            results = []
            for req in requests:
                try:
                    results.append(
                        load.load_in_process(
                            host,
                            port,
                            req,
                            duration=duration,
                            concurrency=concurrency,
                            min_requests=min_requests,
                        )
                    )
                except (RuntimeError, OSError, ValueError) as exc:
                    missing[req.name] = f"the load client failed: {exc}"
            figures += load_figures(results, missing)
            details["endpoints"] = results
        if "bulk" in steps:
            try:
                user, beds = bulk_plan(CITY["beds"])
                secret = mint(user["id"])
                figures += measure_bulk(host, port, user, beds, secret)
                details["bulk_beds"] = len(beds)
            except Exception as exc:  # one row of the table; the load figures still stand
                db.session.rollback()
                figures.append(failed_row("bulk", exc))
        memory = server.memory()
        details["memory"] = memory
        figures.append(
            Figure(
                "memory.peak_worker_mib",
                f"peak memory of a web worker (VmHWM, {len(memory['workers'])} workers)",
                memory["peak_worker_mib"],
                f"{memory['peak_worker_mib']:.0f} MiB",
            )
        )
    finally:
        server.stop()
        db.session.rollback()
        _revoke(tokens)
    return figures, details
