"""The benchmark runner's own logic (not a benchmark): percentiles, the load client's counts
and errors (locust, in a process of its own) against a small server in a thread, the table,
the JSON, and steps that cannot run on the data they find."""

from __future__ import annotations

import itertools
import json
import os
import threading
import time

import pytest
from werkzeug.serving import make_server

from eldercare.devtools import load
from eldercare.devtools.bench import records, table, web
from eldercare.devtools.bench.table import Figure
from eldercare.devtools.cli import bench_cli
from eldercare.devtools.loadclient import ERROR_SAMPLES, Request, latency_summary, percentile


def run_load(host, port, request, *, duration, concurrency, **options):
    """The load as the benchmark runs it: locust in a second process (importing locust here
    would patch the test process with gevent)."""
    return load.load_in_process(
        host, port, request, duration=duration, concurrency=concurrency, **options
    )


def test_percentile_interpolates_between_ranks():
    values = [40, 10, 30, 20]  # any order
    assert percentile(values, 0) == 10
    assert percentile(values, 50) == 25
    assert percentile(values, 100) == 40
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([7], 99) == 7
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_latency_summary_is_in_milliseconds():
    summary = latency_summary([0.010, 0.020, 0.030, 0.040, 1.0])
    assert summary["p50"] == 30.0
    assert summary["max"] == 1000.0
    assert summary["p99"] == pytest.approx(961.6)
    assert latency_summary([]) == {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}


def _app(environ, start_response):
    """200 on /ok (and, after 250 ms, on /slow), 500 on /fail, a redirect on /login-please,
    every other answer 503 on /flaky."""
    path = environ["PATH_INFO"]
    if path == "/slow":
        time.sleep(0.25)
        path = "/ok"
    if path == "/flaky":
        status = "200 OK" if next(_app.counter) % 2 else "503 Service Unavailable"
    else:
        status = {
            "/ok": "200 OK",
            "/fail": "500 Internal Server Error",
            "/login-please": "302 Found",
        }.get(path, "404 Not Found")
    body = f"{status} for {path}".encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


_app.counter = itertools.count()


@pytest.fixture(scope="module")
def server():
    httpd = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", httpd.server_port
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()


def test_load_counts_answers_and_requests_per_second(server):
    result = run_load(*server, Request("ok", "/ok"), duration=0.3, concurrency=2)
    assert result["ok"] > 0 and result["errors"] == 0
    assert result["requests"] == result["ok"] == result["statuses"]["200"]
    assert result["rps"] == pytest.approx(result["ok"] / result["elapsed_s"], rel=0.01)
    assert result["latency_ms"]["p50"] <= result["latency_ms"]["p95"] <= result["latency_ms"]["max"]


def test_max_requests_stops_the_load_early(server):
    result = run_load(*server, Request("ok", "/ok"), duration=30, concurrency=3, max_requests=7)
    assert result["requests"] == 7
    assert result["elapsed_s"] < 10


def test_min_requests_keeps_loading_past_the_duration(server):
    # 250 ms an answer: at most 2 in the 0.5 s asked for; the 5 asked at least take about
    # 1.25 s, well inside the cap of six times the duration (3 s) even on a loaded machine.
    result = run_load(
        *server, Request("slow", "/slow"), duration=0.5, concurrency=1, min_requests=5
    )
    assert result["requests"] == 5 and result["errors"] == 0
    assert result["elapsed_s"] >= 1.0


@pytest.mark.parametrize(("path", "status"), [("/fail", 500), ("/login-please", 302)])
def test_a_non_200_answer_is_an_error_not_a_latency(server, path, status):
    result = run_load(*server, Request("bad", path), duration=0.2, concurrency=2)
    assert result["requests"] > 0
    assert result["errors"] == result["requests"] and result["ok"] == 0
    assert result["statuses"] == {str(status): result["requests"]}
    assert result["latency_ms"]["p95"] is None
    assert result["rps"] == 0
    assert result["error_samples"][0]["status"] == status
    assert path in result["error_samples"][0]["detail"]


def test_errors_and_successes_are_both_counted(server):
    result = run_load(*server, Request("flaky", "/flaky"), duration=0.3, concurrency=2)
    assert result["ok"] > 0 and result["errors"] > 0
    assert result["statuses"]["200"] == result["ok"]
    assert result["statuses"]["503"] == result["errors"]
    assert len(result["error_samples"]) <= ERROR_SAMPLES


def test_a_refused_connection_is_an_error():
    port = load.free_port()  # nobody listens there
    result = run_load("127.0.0.1", port, Request("gone", "/"), duration=0.1, concurrency=1)
    assert result["ok"] == 0 and result["errors"] == result["requests"] > 0
    assert "ConnectionRefusedError" in result["statuses"]


def test_the_load_runs_in_a_second_process_and_locust_counts_the_same(server):
    result = run_load(*server, Request("ok", "/ok"), duration=0.2, concurrency=2, min_requests=5)
    assert result["client_pid"] != os.getpid()
    assert result["ok"] >= 5 and result["errors"] == 0
    assert result["locust"]["requests"] == result["requests"]  # the warm-up is not counted
    assert result["locust"]["failures"] == 0


def test_locust_counts_the_failures_the_client_counts(server):
    result = run_load(*server, Request("flaky", "/flaky"), duration=0.3, concurrency=2)
    assert result["locust"]["requests"] == result["requests"]
    assert result["locust"]["failures"] == result["errors"] > 0


def test_memory_of_a_process_and_its_children():
    status = load.read_status(os.getpid())
    assert status["VmHWM"] >= status["VmRSS"] > 0
    assert load.children_of(os.getppid()) and os.getpid() in load.children_of(os.getppid())


def _result(name, p95, rps, errors=0, statuses=None):
    return {
        "name": name,
        "method": "GET",
        "path": "/x?y=1",
        "requests": 100 + errors,
        "ok": 100,
        "errors": errors,
        "statuses": statuses or {"200": 100},
        "latency_ms": {"p50": p95 / 2, "p95": p95, "p99": p95 * 1.5, "max": p95 * 2},
        "rps": rps,
    }


def test_load_figures_meet_targets_and_give_the_ratio_to_healthz():
    figures = {
        f.key: f
        for f in web.load_figures(
            [
                _result("healthz", 5, 400.0),
                _result("vacancy search", 40, 100.0),
                _result("county overview", 1200, 2.0),
                _result("bed board", 80, 50.0),
            ],
            {"visitor due list": "no active user 'visitor'"},
        )
    }
    assert figures["load.vacancy search.latency"].met is True
    assert figures["load.vacancy search.latency"].target == "p95 < 50 ms"
    assert figures["load.county overview.latency"].met is False
    assert figures["load.bed board.latency"].met is None  # no target
    assert figures["load.vacancy search.throughput"].value == 0.25
    assert "0.250x healthz" in figures["load.vacancy search.throughput"].shown
    assert figures["load.visitor due list"].shown == "not run: no active user 'visitor'"


def test_an_endpoint_with_errors_has_not_met_its_target():
    figures = web.load_figures(
        [
            _result("healthz", 5, 400.0),
            _result("vacancy search", 10, 100.0, errors=3, statuses={"200": 100, "500": 3}),
            _result("bed board", 10, 100.0, errors=1, statuses={"200": 100, "302": 1}),
        ],
        {},
    )
    by_key = {f.key: f for f in figures}
    vacancy = by_key["load.vacancy search.latency"]
    assert vacancy.met is False and "3 errors" in vacancy.shown and "500: 3" in vacancy.note
    assert by_key["load.bed board.latency"].met is False  # no target, but errors show
    assert "302: 1" in by_key["load.bed board.latency"].note


def test_table_lists_every_figure_with_its_target_and_notes():
    figures = [
        Figure("a", "subsidies: generation / bare INSERT", 2.5, "2.50x", "<= 3x", True),
        Figure("b", "roster: import", 75.0, "75.00 s", "< 60 s", False, "slow machine"),
        Figure("c", "peak memory of a web worker", 180, "180 MiB"),
    ]
    lines = table.render_table(figures).splitlines()
    assert lines[0].split() == ["figure", "value", "target", "met"]
    assert lines[2].startswith("subsidies: generation / bare INSERT") and lines[2].endswith("yes")
    assert "roster: import [1]" in lines[3] and lines[3].endswith("NO")
    assert lines[4].endswith("–")
    assert lines[5] == "[1] slow machine"
    # Columns line up: every value starts where the header's does.
    column = lines[0].index("value")
    assert all(line[column - 2 : column] == "  " for line in lines[2:5])


def test_report_is_json_with_the_rows_and_whether_all_targets_are_met():
    figures = [
        Figure("a", "x", 1, "1", "< 2", True),
        Figure("b", "y", None, "not run: no data"),
    ]
    out = json.loads(json.dumps(table.report(figures, counts={"people": 3})))
    assert out["all_targets_met"] is True
    assert out["counts"] == {"people": 3}
    assert out["figures"][0] == {
        "key": "a",
        "figure": "x",
        "value": 1,
        "shown": "1",
        "target": "< 2",
        "met": True,
        "note": "",
    }
    figures.append(Figure("c", "z", 3, "3", "< 2", False))
    assert table.report(figures)["all_targets_met"] is False


def test_a_failed_step_is_one_line_of_the_table():
    row = table.failed_row("web", RuntimeError("boom\n  at line 3\n" + "x" * 500))
    assert row.met is False and "\n" not in row.shown and len(row.shown) < 200
    row = table.failed_row("visits", table.NotRunnable("no active care plans"))
    assert row.met is None and row.shown == "not run: no active care plans"


def test_steps_that_cannot_run_on_an_empty_database_say_why(app, tmp_path):
    out = tmp_path / "bench.json"
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(
        bench_cli, args=["city", "--skip", "load,bulk", "--json-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 30
    assert "not run: no program with active enrolments" in result.output
    assert "not run: no active care plans" in result.output
    assert "not run: neither 'county' nor 'admin' is an active user" in result.output
    assert "not run: no active user 'county' with an area" in result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    keys = [f["key"] for f in data["figures"]]
    assert keys == [
        "subsidies.not_run",
        "visits.not_run",
        "roster.not_run",
        "exports.not_run",
        "bulk.skipped",
        "load.skipped",
    ]
    assert data["counts"]["people"] == 0
    assert data["settings"]["steps"] == ["exports", "roster", "subsidies", "visits"]
    assert data["errors"] == {}


def test_an_unknown_step_is_refused(app):
    result = app.test_cli_runner().invoke(bench_cli, args=["city", "--skip", "load,coffee"])
    assert result.exit_code == 2
    assert "coffee" in result.output


def test_a_user_who_cannot_sign_in_leaves_its_endpoint_out_with_the_reason(app):
    from tests.builders import build_facility, build_region, build_user

    county = build_region("610302000000", "渭滨区")
    village = build_region("610302006201", "马营东村")
    build_user("county_staff", county, username="county")
    build_user("visitor", village, username="visitor")
    build_user("operator", facility=build_facility(county), username="operator")

    def sign_in(username):
        if username == "operator":
            raise load.SignInFailed("signing in as 'operator' answered 422")
        return f"session={username}"

    requests, missing = web.load_requests(sign_in, lambda user_id: f"token-{user_id}")
    by_name = {r.name: r for r in requests}
    assert list(by_name)[:3] == ["healthz", "vacancy search", "vacancy search, filtered"]
    assert f"region_id={county.id}" in by_name["vacancy search, filtered"].path
    assert by_name["visitor due list"].headers == {"Cookie": "session=visitor"}
    assert by_name["visitor due list (API)"].headers["Authorization"].startswith("Bearer token-")
    assert by_name["county overview"].headers == {"Cookie": "session=county"}
    assert missing == {"bed board": "signing in as 'operator' answered 422"}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_generated_roster_imports_without_errors(app, fmt):
    from eldercare.people import roster
    from tests.builders import build_person, build_region, build_user

    county = build_region("610302000000", "渭滨区")
    build_region("610302006000", "马营镇")
    village = build_region("610302006201", "马营东村")
    build_person(village)
    importer = build_user("county_staff", county, username="county")
    rows = records.roster_rows(30, records._roster_importer())
    assert len({r[1] for r in rows}) == 30 and {r[5] for r in rows} == {village.code}
    filename, content = records.roster_file(rows, fmt)
    result = roster.import_roster(filename, content, importer)
    assert result.ok, result.errors[:3]
    assert result.created == 30
    # The numbers now registered are never drawn again.
    again = records.roster_rows(30, importer)
    assert not {r[1] for r in again} & {r[1] for r in rows}


def test_the_exports_stream_the_county_registry_and_ledger(app):
    from tests.builders import build_person, build_region, build_user

    county = build_region("610302000000", "渭滨区")
    build_region("610302006000", "马营镇")
    village = build_region("610302006201", "马营东村")
    for _ in range(12):
        build_person(village)
    build_user("county_staff", county, username="county")
    figures, details = records.measure_exports()
    by_key = {f.key: f for f in figures}
    assert list(by_key) == ["exports.people", "exports.ledger"]
    assert details["people"]["rows"] == 12 and details["ledger"]["rows"] == 0
    assert "12 rows" in by_key["exports.people"].shown
    assert all(f.met for f in figures) and all(d["peak_mib"] < 64 for d in details.values())


@pytest.mark.slow
def test_gunicorn_on_loopback_under_load_and_its_workers_memory(tmp_path):
    env = {
        **os.environ,
        "ELDERCARE_CONFIG": "development",
        "DATABASE_URL": "sqlite:///" + str(tmp_path / "gunicorn.db"),
        "ELDERCARE_INSTANCE": str(tmp_path),
    }
    with load.Gunicorn(env, workers=1) as server:  # started from the project's root
        assert os.path.isfile(os.path.join(server.cwd, "wsgi.py"))
        result = run_load(
            server.host, server.port, Request("healthz", "/healthz"), duration=0.5, concurrency=2
        )
        memory = server.memory()
    assert result["ok"] > 0 and result["errors"] == 0
    assert [w["pid"] for w in memory["workers"]] and memory["peak_worker_mib"] > 0
    assert server.proc.poll() is not None  # stopped
