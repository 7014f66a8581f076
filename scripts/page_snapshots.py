#!/usr/bin/env python
"""Snapshots of every page each demo user reaches, to compare two versions byte for byte.

    # from the tree under test (its eldercare and its tests/walk are the ones used):
    cd /work/base && PYTHONPATH=/work/base python /work/main/scripts/page_snapshots.py OUT
    python scripts/page_snapshots.py --compare OUT_A OUT_B   # exit 1 when they differ

A run builds the app on a fresh temporary SQLite database (the migrations), loads the demo
(people=200, its fixed seed, as tests/walk does) and, for each demo account and for an
anonymous visitor of the public pages, walks what tests.walk.crawl.walk walks (the same
links, the same limits), inside a transaction rolled back after each user as in the walk
tests. Every response is kept: OUT/<user>/<quoted url>.html (.json, .csv, .ics, .xlsx.txt:
a workbook as its cells' values), and OUT/<user>/_index.txt lists each URL fetched with its
status and type (a redirect with its target). Besides the pages it fetches the files the
pages offer (exports, prints; for one URL of each shape every month of the demo's data, as
tests/walk/test_exports.py does), the API's GET endpoints (lists, and the records the walk
opened as pages) and the OpenAPI document. No URL is fetched twice for one user.

What differs between two runs of the same code is masked: CSRF tokens, nonces, clock times
that fall within the run (a 'now' such as 制表时间, a created_at written by the demo's
load), "N分钟前", UUIDs. Run-specific facts (times, paths) go to OUT/_meta.txt, which the
comparison ignores. Two runs must start on the same local day: the demo's data is dated
from today.
"""

from __future__ import annotations

import argparse
import contextvars
import difflib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

META = "_meta.txt"
MASK_MARGIN = timedelta(minutes=2)

# --------------------------------------------------------------------------- normalising

DATETIME = re.compile(
    r"(?P<y>\d{4})(?:-|/|年)(?P<m>\d{1,2})(?:-|/|月)(?P<d>\d{1,2})日?"
    r"(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
CLOCK = re.compile(
    r"(?<![\d:.])(?P<H>[01]?\d|2[0-3]):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d)(?:\.\d+)?)?(?![\d:])"
)
RELATIVE = re.compile(r"\d+\s*(秒|分钟|小时)(前|以前|之前)")
UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
CSRF = [
    re.compile(r'(name="csrf_token"[^>]*?value=")[^"]*(")'),
    re.compile(r'(value=")[^"]*("[^>]*?name="csrf_token")'),
    re.compile(r'(name="csrf-token"[^>]*?content=")[^"]*(")'),
    re.compile(r'("csrf_token"\s*:\s*")[^"]*(")'),
]
NONCE = re.compile(r'(\bnonce=")[^"]*(")')
#: A form's one-time token (uuid4().hex: a visit sent twice is recorded once).
TOKEN = re.compile(r'(name="client_token"[^>]*?value=")[^"]*(")')
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
ICS_STAMP = re.compile(r"^(DTSTAMP|CREATED|LAST-MODIFIED)(;[^:]*)?:.*$", re.M)


class Clock:
    """The run's window: a time shown within it is 'now' (a report's 制表时间, a row the
    demo's load stamped), masked; any other time is data and kept."""

    def __init__(self, zone: str):
        self.zone = ZoneInfo(zone)
        self.start = datetime.now(UTC)

    def within(self, moment: datetime) -> bool:
        return self.start - MASK_MARGIN <= moment <= datetime.now(UTC) + MASK_MARGIN

    def _datetime(self, match: re.Match) -> str:
        g = match.groupdict()
        try:
            naive = datetime(
                int(g["y"]), int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), int(g["S"] or 0)
            )
        except ValueError:
            return match.group(0)
        if g["tz"]:
            tz = g["tz"].replace("Z", "+00:00")
            if ":" not in tz:
                tz = tz[:3] + ":" + tz[3:]
            candidates = [datetime.fromisoformat(naive.isoformat() + tz)]
        else:  # shown in the county's time, or stored UTC shown as is
            candidates = [naive.replace(tzinfo=self.zone), naive.replace(tzinfo=UTC)]
        if not g["S"]:  # shown to the minute: any second of that minute
            candidates += [c + timedelta(seconds=59) for c in candidates]
        return "<NOW>" if any(self.within(c) for c in candidates) else match.group(0)

    def _clock(self, match: re.Match) -> str:
        """A time of day alone (today's check-in at 17:08): now, when the run's window holds
        that time of the county's day today."""
        hour, minute, second = int(match["H"]), int(match["M"]), match["S"]
        today = datetime.now(self.zone).date()
        for day in (today, today - timedelta(days=1)):
            moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
            moment = moment.replace(second=int(second)) if second else moment
            ends = moment if second else moment + timedelta(seconds=59)
            if self.within(moment) or self.within(ends):
                return "<NOW>"
        return match.group(0)

    def mask(self, text: str) -> str:
        for pattern in CSRF:
            text = pattern.sub(r"\1<CSRF>\2", text)
        text = NONCE.sub(r"\1<NONCE>\2", text)
        text = TOKEN.sub(r"\1<TOKEN>\2", text)
        text = HEX32.sub("<HEX32>", text)
        text = DATETIME.sub(self._datetime, text)
        text = CLOCK.sub(self._clock, text)
        text = RELATIVE.sub(r"<N>\1\2", text)
        text = UUID.sub("<UUID>", text)
        return ICS_STAMP.sub(r"\1\2:<NOW>", text)


def workbook_text(body: bytes) -> str:
    """A workbook as its cells' values, sheet by sheet (types kept: 5, 5.0 and '5' differ),
    and its merged ranges: what a reader of the file sees, without the zip's dates."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(body))
    out = []
    for sheet in book.worksheets:
        out.append(f"=== sheet {sheet.title!r} ({sheet.dimensions})")
        merged = sorted(str(r) for r in sheet.merged_cells.ranges)
        if merged:
            out.append("merged: " + " ".join(merged))
        for row in sheet.iter_rows(values_only=True):
            cells = []
            for value in row:
                if value is None:
                    cells.append("")
                elif isinstance(value, str):
                    cells.append(
                        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                    )
                elif isinstance(value, datetime | date):
                    cells.append(
                        value.isoformat(sep=" ")
                        if isinstance(value, datetime)
                        else value.isoformat()
                    )
                else:
                    cells.append(repr(value))
            out.append("\t".join(cells).rstrip("\t"))
    return "\n".join(out) + "\n"


def zip_text(body: bytes) -> str:
    out = []
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            out.append(f"=== {info.filename} ({len(data)} bytes)")
            try:
                out.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                out.append("sha256 " + hashlib.sha256(data).hexdigest())
    return "\n".join(out) + "\n"


def rendered(url: str, response) -> tuple[str, str]:
    """(file suffix, text) of a response body."""
    body = response.get_data()
    mime = response.mimetype or ""
    path = urlsplit(url).path
    if path.endswith(".xlsx") or "spreadsheetml" in mime:
        try:
            return ".xlsx.txt", workbook_text(body)
        except Exception as error:  # a broken workbook is a finding, not a crash
            return (
                ".xlsx.txt",
                f"does not open: {error!r}\nsha256 {hashlib.sha256(body).hexdigest()}\n",
            )
    if path.endswith(".zip") or mime == "application/zip":
        return ".zip.txt", zip_text(body)
    if mime == "application/json" or path.endswith(".json"):
        try:
            data = json.loads(body)
        except ValueError:
            return ".json", body.decode("utf-8", "replace")
        return ".json", json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    suffix = {
        "text/html": ".html",
        "text/csv": ".csv",
        "text/calendar": ".ics",
        "application/pdf": ".pdf.txt",
    }.get(mime)
    if suffix is None:
        suffix = Path(path).suffix or ".txt"
    try:
        return suffix, body.decode("utf-8-sig" if suffix == ".csv" else "utf-8")
    except UnicodeDecodeError:  # binary: its digest tells whether it changed
        return suffix + ".sha256", hashlib.sha256(body).hexdigest() + "\n"


def file_name(url: str, suffix: str) -> str:
    name = quote(url, safe="")
    if len(name) > 180:
        name = name[:160] + "~" + hashlib.sha256(url.encode()).hexdigest()[:16]
    return name + suffix


# --------------------------------------------------------------------------- the run


class Recorder:
    """The test client as the walk uses it (``get``), keeping every response in order."""

    def __init__(self, client):
        self.client = client
        self.responses: dict[str, object] = {}

    def get(self, url, *args, **kwargs):
        if url in self.responses and not args and not kwargs:
            return self.responses[url]
        response = self.client.get(url, *args, **kwargs)
        self.responses[url] = response
        return response


def tree_under_test() -> Path:
    import eldercare

    root = Path(eldercare.__file__).resolve().parent.parent
    sys.path.insert(0, str(root))  # its tests/walk, not those of this script's checkout
    # The venv's editable install of /work/main answers for any module the tree under test
    # lacks (eldercare.devtools in an older tree): without it, a missing module is missing.
    sys.meta_path[:] = [
        f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")
    ]
    return root


def make_app(root: Path, workdir: Path):
    from flask.testing import FlaskClient

    from eldercare import create_app

    class IsolatedClient(FlaskClient):  # as tests/conftest.py: no app context leaks
        def open(self, *args, **kwargs):
            return contextvars.Context().run(super().open, *args, **kwargs)

    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(workdir / "snapshots.db"),
            "RATING_EVIDENCE_DIR": str(workdir / "evidence"),
        }
    )
    app.test_client_class = IsolatedClient
    return app


def load_demo(app) -> None:
    from flask_migrate import upgrade

    from eldercare.extensions import db

    try:
        from eldercare.devtools.demo import load_demo as load
    except ModuleNotFoundError:  # before the tools left the runtime (ebc1bda)
        from eldercare.demo import load_demo as load
    with app.app_context():
        upgrade()
        load(people=200)  # as tests/walk/conftest.py's demo fixture
        db.session.commit()


class rolled_back:
    """Every session of a user's walk bound to one connection inside a transaction rolled
    back afterwards, as tests/conftest.py's _transaction: one user's walk sees the demo as
    loaded, whatever another's did."""

    def __init__(self, app):
        self.app = app

    def __enter__(self):
        from eldercare.core.db import AppSession
        from eldercare.extensions import db, limiter

        self.context = self.app.app_context()
        self.context.push()
        self.connection = db.engine.connect()
        self.outer = self.connection.begin()
        self.original = db.session
        db.session = db._make_scoped_session(
            {
                "bind": self.connection,
                "join_transaction_mode": "create_savepoint",
                "class_": AppSession,
            }
        )
        limiter.reset()
        return self

    def __exit__(self, *exc):
        from eldercare.extensions import db

        db.session.remove()
        db.session = self.original
        self.outer.rollback()
        self.connection.close()
        self.context.pop()


def login(client, username: str | None) -> None:
    import sqlalchemy as sa

    from eldercare.auth.models import User
    from eldercare.extensions import db

    with client.session_transaction() as session:
        session.clear()
        if username is not None:
            user = db.session.scalar(sa.select(User).where(User.username == username))
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


def demo_months(today: date) -> list[str]:
    months, year, month = [], today.year, today.month
    for _ in range(13):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def with_month(url: str, month: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not {k for k, _v in query} & {"month", "period"}:
        return url
    return (
        parts.path
        + "?"
        + urlencode([(k, month if k in ("month", "period") else v) for k, v in query])
    )


def api_urls(app, pages: list[str]) -> list[str]:
    """The API's GET endpoints: those without arguments, and those of one record for the
    records the walk opened as pages (/people/12 -> /api/v1/people/12, .../assessments)."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        path = rule.rule
        if "GET" not in rule.methods or not path.startswith("/api/") or "docs" in path:
            continue
        if "swagger" in path or "openapi" in path:
            continue
        if not rule.arguments:
            out.append(path)
            continue
        match = re.fullmatch(r"/api/v\d+(/[\w-]+/)<int:\w+>(.*)", path)
        if not match or len(rule.arguments) != 1:
            continue
        ids = []
        for page in pages:
            found = re.match(re.escape(match[1]) + r"(\d+)(?:[/?]|$)", page)
            if found and found[1] not in ids:
                ids.append(found[1])
        out.extend(re.sub(r"<int:\w+>", n, path) for n in ids[:2])
    return out


def with_required_ids(url: str, response, pages: list[str]) -> str | None:
    """A list the API refuses without a record's id (beds: facility_id=) asked again for
    the first such record the walk opened (/facilities/1/...)."""
    errors = (response.get_json(silent=True) or {}).get("errors") or {}
    query = []
    for name in sorted(errors):
        if not name.endswith("_id"):
            return None
        noun = name[: -len("_id")]
        plurals = (noun + "s", noun[:-1] + "ies" if noun.endswith("y") else noun + "es")
        ids = [
            m[1]
            for page in pages
            for p in plurals
            if (m := re.match(f"/{p}/(\\d+)(?:[/?]|$)", page))
        ]
        if not ids:
            return None
        query.append((name, ids[0]))
    return url + "?" + urlencode(query) if query else None


def snapshot_user(app, username: str | None, out: Path, clock: Clock) -> dict:
    from eldercare.core.db import local_today
    from tests.walk.crawl import shape, walk

    started = time.monotonic()
    with rolled_back(app):
        client = app.test_client()
        login(client, username)
        recorder = Recorder(client)
        found = walk(recorder, start="/public/facilities") if username is None else walk(recorder)
        pages = list(found.pages)
        # The files offered, and for one of each shape every month of the demo's data.
        shapes = set()
        for url in sorted(found.files):
            recorder.get(url)
            if shape(url) in shapes or with_month(url, "x") == url:
                continue
            shapes.add(shape(url))
            for month in demo_months(local_today()):
                recorder.get(with_month(url, month))
        if username is None:
            recorder.get("/api/v1/openapi.json")
        else:
            for url in api_urls(app, pages):
                response = recorder.get(url)
                if response.status_code == 422 and "?" not in url:
                    narrowed = with_required_ids(url, response, pages)
                    if narrowed:
                        recorder.get(narrowed)
        responses = recorder.responses
    folder = out / (username or "public")
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for url, response in responses.items():
        status = response.status_code
        if 300 <= status < 400:
            index.append(f"{status} {url} -> {response.headers.get('Location')}")
            continue
        suffix, text = rendered(url, response)
        name = file_name(url, suffix)
        (folder / name).write_text(clock.mask(text), encoding="utf-8")
        index.append(f"{status} {response.mimetype} {url}")
    index.append(f"# failures (>=500, 400, 405): {sorted(found.failures.items())}")
    (folder / "_index.txt").write_text("\n".join(index) + "\n", encoding="utf-8")
    return {
        "user": username or "public",
        "pages": len(found.pages),
        "fetched": len(responses),
        "seconds": round(time.monotonic() - started, 1),
    }


def git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True).stdout  # noqa: S603 - git, fixed arguments


def run(out: Path, users: list[str] | None) -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":
        # A set's order (a frozenset of service kinds lists a select's options) follows the
        # string hash, random per process: one seed for every run, so two runs list alike.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)  # noqa: S606 - ourselves again
    root = tree_under_test()
    import eldercare
    import tests.walk.crawl

    if Path(tests.walk.crawl.__file__).resolve().parent.parent.parent != root:
        sys.exit(f"tests.walk comes from {tests.walk.crawl.__file__}, not from {root}")
    from tests.walk.conftest import DEMO_USERS

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    commit = git(root, "rev-parse", "HEAD").strip()
    status = git(root, "status", "--short", "--untracked-files=no")
    meta = [f"tree {root} (eldercare {eldercare.__file__})", f"commit {commit}"]
    meta += [f"modified: {line}" for line in status.splitlines()]
    print("\n".join(meta), file=sys.stderr)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="snapshots-") as tmp:
        app = make_app(root, Path(tmp))
        clock = Clock(app.config.get("TIMEZONE") or "Asia/Shanghai")
        meta.append(f"started {clock.start.isoformat()}")
        load_demo(app)
        meta.append(f"demo loaded in {time.monotonic() - started:.1f}s")
        print(meta[-1], file=sys.stderr)
        for username in users or [*DEMO_USERS, None]:
            done = snapshot_user(app, username if username != "public" else None, out, clock)
            line = "{user}: {pages} pages, {fetched} responses, {seconds}s".format(**done)
            meta.append(line)
            print(line, file=sys.stderr)
        with app.app_context():
            from eldercare.extensions import db

            db.engine.dispose()
    files = sum(1 for p in out.rglob("*") if p.is_file() and p.name != "_index.txt")
    meta.append(f"{files} files in {time.monotonic() - started:.0f}s")
    print(meta[-1], file=sys.stderr)
    (out / META).write_text("\n".join(meta) + "\n", encoding="utf-8")
    return 0


# --------------------------------------------------------------------------- comparing


def compare(a: Path, b: Path, lines: int) -> int:
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != META}

    left, right = files(a), files(b)
    only_a, only_b = sorted(left - right), sorted(right - left)
    differ = []
    for name in sorted(left & right):
        if (a / name).read_bytes() != (b / name).read_bytes():
            differ.append(name)
    for name in only_a:
        print(f"only in {a}: {name}")
    for name in only_b:
        print(f"only in {b}: {name}")
    for name in differ:
        old = (a / name).read_text(encoding="utf-8", errors="replace").splitlines()
        new = (b / name).read_text(encoding="utf-8", errors="replace").splitlines()
        diff = list(difflib.unified_diff(old, new, f"{a}/{name}", f"{b}/{name}", n=2, lineterm=""))
        print(f"differs: {name} ({sum(1 for d in diff if d[:1] in '+-') - 2} changed lines)")
        for line in diff[:lines]:
            print("    " + line[:300])
        if len(diff) > lines:
            print(f"    ... {len(diff) - lines} more diff lines")
    same = len(left & right) - len(differ)
    print(f"{same} identical, {len(differ)} differ,", end=" ")
    print(f"{len(only_a)} only in {a}, {len(only_b)} only in {b}")
    return 1 if differ or only_a or only_b else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "out", nargs="?", type=Path, help="directory the snapshots are written to (emptied first)"
    )
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two snapshot directories"
    )
    parser.add_argument("--lines", type=int, default=40, help="diff lines shown per differing file")
    parser.add_argument("--users", help="comma-separated demo users (and 'public') instead of all")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare, lines=args.lines)
    if args.out is None:
        parser.error("give an output directory, or --compare A B")
    return run(args.out, args.users.split(",") if args.users else None)


if __name__ == "__main__":
    sys.exit(main())
