"""Benchmarks, kept out of the test run: `flask bench visits` builds a county-sized (or city-
sized) set of care plans in a database of its own and times the scheduler's visit jobs;
`flask bench subsidies` builds a city's enrolments and times a month's subsidy batch;
`flask bench city` measures every figure of the city-scale requirement on the data it finds
(`flask demo --scale city`), the web pages under load through gunicorn (eldercare.loadbench)."""

from __future__ import annotations

import json
import random
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eldercare.auth.models import User
from eldercare.core.crypto import encrypt
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.visits.models import CareAssignment, CareTarget, Visit

bench_cli = AppGroup("bench", help="Benchmarks (not part of the test run).")
CHUNK = 5000
INTERVALS = {"high": 7, "key": 30, "general": 90}


def _insert(table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[start : start + CHUNK])


def _regions(townships: int, villages: int) -> list[Region]:
    """A county 619900 of its own with townships and villages (codes outside real ones)."""
    county = Region(code="619900000000", name="基准县", level="county")
    db.session.add(county)
    db.session.flush()
    out = []
    for t in range(1, townships + 1):
        town = Region(code=f"619900{t:03d}000", name=f"基准镇{t}", level="township", parent=county)
        db.session.add(town)
        for v in range(1, villages + 1):
            out.append(
                Region(
                    code=f"619900{t:03d}{v:03d}",
                    name=f"基准村{t}-{v}",
                    level="village",
                    parent=town,
                )
            )
    db.session.add_all(out)
    db.session.flush()
    return out


def build_plans(targets: int, seed: int = 7) -> dict:
    """``targets`` people in covered categories, each with a plan, one visitor per 100 plans
    and a last visit spread so that about a tenth are overdue; set-based inserts."""
    rng = random.Random(seed)
    today = local_today()
    villages = _regions(townships=max(targets // 10000, 1), villages=20)
    visitors = []
    for i in range(max(targets // 100, 1)):
        visitors.append(
            {
                "username": f"bench-visitor-{i}",
                "display_name": f"探访员{i}",
                "role": "visitor",
                "region_id": villages[i % len(villages)].id,
                "password_hash": "!",
                "email": f"bench-visitor-{i}@bench.local",
                "active": True,
            }
        )
    staff = [
        {
            "username": f"bench-township-{town.code}",
            "display_name": f"{town.name}民政办",
            "role": "township_staff",
            "region_id": town.id,
            "password_hash": "!",
            "email": f"bench-{town.code}@bench.local",
            "active": True,
        }
        for town in {village.parent for village in villages}
    ]
    _insert(
        User.__table__,
        [{**v, "created_at": utcnow(), "updated_at": utcnow()} for v in visitors + staff],
    )
    visitor_ids = db.session.scalars(
        sa.select(User.id).where(User.username.startswith("bench-visitor-")).order_by(User.id)
    ).all()
    start_id = (db.session.scalar(sa.select(sa.func.max(Person.id))) or 0) + 1
    token = encrypt("610000195001010000")  # the same ciphertext stands for every row here
    county_id = villages[0].parent.parent_id
    people, plans, assignments, visits = [], [], [], []
    now = utcnow()
    for n in range(targets):
        pid = start_id + n
        born = today - timedelta(days=rng.randrange(60 * 365, 95 * 365))
        people.append(
            {
                "id": pid,
                "name": f"老人{pid}",
                "id_number": token,
                # Unique stand-ins: the blind index is never looked up here.
                "id_number_index": f"bench{pid:059d}",
                "id_number_masked": "619**************X",
                "birth_date": born,
                "sex": "F",
                "region_id": villages[n % len(villages)].id,
                "lives_alone": True,
                "empty_nest": False,
                "left_behind": False,
                "special_family": False,
                "economic_status": "none",
                "hukou_type": "local",
                "address": "",
                "hukou_address": "",
                "created_at": now,
                "updated_at": now,
            }
        )
        tier = rng.choices(["high", "key", "general"], [15, 35, 50])[0]
        interval = INTERVALS[tier]
        last = now - timedelta(days=rng.uniform(0, interval * 1.1))
        plans.append(
            {
                "id": pid,
                "person_id": pid,
                "county_id": county_id,
                "categories": ["lives_alone"],
                "computed_tier": tier,
                "override_reason": "",
                "enrolled_on": today - timedelta(days=400),
                "active": True,
                "last_visit_at": last,
                "next_due_on": (last + timedelta(days=interval)).astimezone(UTC).date(),
                "created_at": now,
                "updated_at": now,
            }
        )
        visitor = visitor_ids[n % len(visitor_ids)]
        assignments.append({"target_id": pid, "visitor_id": visitor, "assigned_at": now})
        visits.append(
            {
                "target_id": pid,
                "visitor_id": visitor,
                "visited_at": last,
                "method": "home",
                "living_conditions": "good",
                "health": "stable",
                "mood": "good",
                "family_support": "fulfilled",
                "safety_hazards": "",
                "services_received": "",
                "needs_referred": "",
                "summary": "",
                "created_at": now,
                "updated_at": now,
            }
        )
    _insert(Person.__table__, people)
    _insert(CareTarget.__table__, plans)
    _insert(CareAssignment.__table__, assignments)
    _insert(Visit.__table__, visits)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT setval('person_id_seq', (SELECT max(id) FROM person))"))
        db.session.execute(
            sa.text("SELECT setval('care_target_id_seq', (SELECT max(id) FROM care_target))")
        )
    db.session.commit()
    return {"targets": targets, "visitors": len(visitor_ids)}


def _timed(fn, now) -> tuple[float, int]:
    started = time.perf_counter()
    count = fn(now=now)
    return time.perf_counter() - started, count


def run_visit_jobs(now: datetime | None = None) -> list[dict]:
    """Each visit job twice at the same time: the second run must enqueue nothing."""
    from eldercare.visits import tasks

    now = now or datetime.now(UTC)
    out = []
    for name, fn in (
        ("remind_overdue", tasks.remind_overdue),
        ("send_daily_digests", tasks.send_daily_digests),
        ("escalate_overdue", tasks.escalate_overdue),
    ):
        first = _timed(fn, now)
        second = _timed(fn, now)
        out.append(
            {
                "job": name,
                "first_s": round(first[0], 2),
                "enqueued": first[1],
                "second_s": round(second[0], 2),
                "enqueued_again": second[1],
            }
        )
    return out


@bench_cli.command("visits")
@click.option("--targets", default=120_000, show_default=True, help="Care plans to build.")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the figures here.")
def bench_visits(targets: int, json_out: str | None) -> None:
    """Time due-visit computation and reminder enqueue for many care plans (use an empty
    database of its own: it is filled with synthetic plans)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(CareTarget)):
        raise click.ClickException("the database already holds care plans; use an empty one")
    started = time.perf_counter()
    built = build_plans(targets)
    click.echo(
        f"built {built['targets']} plans, {built['visitors']} visitors "
        f"in {time.perf_counter() - started:.1f} s "
        f"({db.session.get_bind().dialect.name})"
    )
    rows = run_visit_jobs()
    outbox = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    click.echo(f"{'job':<22}{'first run':>12}{'enqueued':>10}{'second run':>12}{'again':>8}")
    for r in rows:
        click.echo(
            f"{r['job']:<22}{r['first_s']:>11.2f}s{r['enqueued']:>10}"
            f"{r['second_s']:>11.2f}s{r['enqueued_again']:>8}"
        )
    click.echo(f"outbox rows: {outbox}")
    if json_out:
        with open(json_out, "w", encoding="utf-8") as handle:
            json.dump({"targets": targets, "jobs": rows, "outbox": outbox}, handle, indent=2)


# --- subsidies -------------------------------------------------------------------------------

#: Shanghai's 老年综合津贴 bands in fen (DOMAIN.md 3.4).
AGE_BANDS = [
    {"min_age": 65, "max_age": 69, "amount_fen": 7500},
    {"min_age": 70, "max_age": 79, "amount_fen": 15000},
    {"min_age": 80, "max_age": 89, "amount_fen": 18000},
    {"min_age": 90, "max_age": 99, "amount_fen": 35000},
    {"min_age": 100, "max_age": None, "amount_fen": 60000},
]
BARE_PERIOD = date(1999, 1, 1)  # a period no enrolment is ever paid for: no conflict


def build_enrolments(people: int, period: date, seed: int = 11) -> dict:
    """``people`` people of 65 to 104 with valid ID numbers, each actively enrolled in an
    age allowance of one county: bulk INSERTs, nothing row by row. Fernet is slow, so each
    distinct birth date is encrypted once (its ID number stands for everyone born that day;
    the blind index, which must be unique, is made per person)."""
    from eldercare.core import resident_id
    from eldercare.subsidies import operations as ops
    from eldercare.subsidies.models import Enrolment

    rng = random.Random(seed)
    villages = _regions(townships=max(people // 10000, 1), villages=20)
    county = villages[0].parent.parent
    staff = []
    for name in ("maker", "checker"):
        user = User(
            username=f"bench-{name}",
            display_name=f"县民政局{name}",
            role="county_staff",
            region_id=county.id,
            password_hash="!",  # noqa: S106 (no password: the account cannot sign in)
        )
        db.session.add(user)
        staff.append(user)
    db.session.flush()
    program = ops.create_program(
        county,
        {"code": "GL", "name": "高龄津贴", "kind": "age_allowance", "basis": "person"},
        staff[0],
    )
    ops.save_rule_table(program, date(2020, 1, 1), AGE_BANDS, "", staff[0])
    reference = period - timedelta(days=1)
    tokens: dict[date, tuple[str, str]] = {}
    account = encrypt("6228480402564890018")
    start_id = (db.session.scalar(sa.select(sa.func.max(Person.id))) or 0) + 1
    now = utcnow()
    started = time.perf_counter()
    person_rows, enrolment_rows = [], []
    for n in range(people):
        pid = start_id + n
        born = reference - timedelta(days=rng.randrange(65 * 366, 104 * 365))
        if born not in tokens:
            number = resident_id.synthesise("619900", born, "F", rng)
            tokens[born] = (encrypt(number), resident_id.mask(number))
        token, masked = tokens[born]
        village = villages[n % len(villages)]
        person_rows.append(
            {
                "id": pid,
                "name": f"老人{pid}",
                "id_number": token,
                "id_number_index": f"bench{pid:059d}",
                "id_number_masked": masked,
                "birth_date": born,
                "sex": "F",
                "region_id": village.id,
                "lives_alone": False,
                "empty_nest": False,
                "left_behind": False,
                "special_family": False,
                "economic_status": "none",
                "hukou_type": "local",
                "address": "",
                "hukou_address": "",
                "created_at": now,
                "updated_at": now,
            }
        )
        enrolment_rows.append(
            {
                "program_id": program.id,
                "region_id": village.id,
                "person_id": pid,
                "status": "active",
                "applied_on": date(2019, 12, 2),
                "start_month": date(2020, 1, 1),
                "id_birth_date": born,  # checked against the ID number when enrolled
                "account_kind": "bank",
                "bank_name": "农业银行",
                "account_holder": f"老人{pid}",
                "account_number": account,
                "account_masked": "6228***********0018",
                "note": "",
                "decision_note": "",
                "activated_on": date(2019, 12, 20),
                "next_review_on": date(2026, 12, 20),
                "created_at": now,
                "updated_at": now,
            }
        )
    prepared = time.perf_counter() - started
    # Plain columns: the values are ciphertexts already (the models' columns would encrypt
    # them again).
    _insert(_raw(Person.__table__.name, person_rows[0]), person_rows)
    _insert(_raw(Enrolment.__table__.name, enrolment_rows[0]), enrolment_rows)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT setval('person_id_seq', (SELECT max(id) FROM person))"))
    db.session.commit()
    _analyze()
    return {
        "people": people,
        "program_id": program.id,
        "maker_id": staff[0].id,
        "checker_id": staff[1].id,
        "distinct_ciphertexts": len(tokens),
        "prepare_s": round(prepared, 2),
    }


def _raw(name: str, row: dict) -> sa.TableClause:
    return sa.table(name, *(sa.column(key) for key in row))


def _analyze() -> None:
    """Fresh planner statistics (and no dead rows) before anything is timed."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


#: The same rows with a constant amount: no join, no rule, no conflict check (the columns
#: that have defaults are written too, as generation's INSERT writes them).
BARE_INSERT = sa.text(
    "INSERT INTO subsidy_payment (batch_id, enrolment_id, program_id, region_id, person_id,"
    " period, kind, status, quantity, amount_fen, created_at, override_reason,"
    " account_holder, bank_name, account_masked, bank_note, note)"
    " SELECT :batch, e.id, e.program_id, e.region_id, e.person_id, :period, 'regular',"
    " 'pending', 1, 7500, :now, '', '', '', '', '', ''"
    " FROM subsidy_enrolment e WHERE e.program_id = :program"
)


def _step(name: str, fn) -> dict:
    started = time.perf_counter()
    rows = fn()
    db.session.commit()
    return {"step": name, "seconds": round(time.perf_counter() - started, 3), "rows": rows}


def run_subsidy_steps(built: dict, period: date, explain: bool = False) -> dict:
    """Time each step of a month's batch on the enrolments ``build_enrolments`` made."""
    import os

    from eldercare.subsidies import bankfile, generation
    from eldercare.subsidies import operations as ops
    from eldercare.subsidies.models import Batch, Program

    program = db.session.get(Program, built["program_id"])
    maker = db.session.get(User, built["maker_id"])
    checker = db.session.get(User, built["checker_id"])
    batch = ops.batch_for(program, period, maker)
    db.session.commit()
    steps = []

    # (b) first, then removed and vacuumed: (a) then meets the table as it will be in use.
    bare = _step(
        "bare INSERT ... SELECT",
        lambda: (
            db.session.execute(
                BARE_INSERT,
                {"batch": batch.id, "period": BARE_PERIOD, "now": utcnow(), "program": program.id},
            ).rowcount
        ),
    )
    # Only the bare rows are there yet. TRUNCATE, not DELETE: deleting a payment makes
    # PostgreSQL look for payments re-issuing it, and reissue_of_id has no index (a scan
    # of the table per deleted row).
    others = db.session.scalar(
        sa.text("SELECT count(*) FROM subsidy_payment WHERE period <> :p"), {"p": BARE_PERIOD}
    )
    if others:
        raise click.ClickException("payments other than the bare INSERT's are in the table")
    db.session.execute(sa.text("TRUNCATE subsidy_payment"))
    _analyze()
    batch = db.session.get(Batch, batch.id)
    plan = []
    if explain:
        plan = explain_fill(batch)
        _analyze()  # the rolled-back rows' pages would change the timed run's plan
        batch = db.session.get(Batch, batch.id)
    fill = _step("generation.fill", lambda: generation.fill(batch))
    steps += [fill, bare]
    steps.append(_step("generation.fill again", lambda: generation.fill(batch)))
    steps.append(_step("hold_suspicious", lambda: generation.hold_suspicious(batch)))
    steps.append(_step("exclude_ineligible", lambda: generation.exclude_ineligible(batch)))
    steps.append(_step("approve", lambda: int(ops.approve(batch, checker).approved)))
    for fmt in ("csv", "xlsx"):

        def export(fmt=fmt):
            file = bankfile.export(batch, fmt, checker)
            size = os.path.getsize(file.path)
            os.unlink(file.path)
            return {"payments": file.count, "bytes": size}

        steps.append(_step(f"bank file .{fmt}", export))
    ratio = fill["seconds"] / bare["seconds"] if bare["seconds"] else None
    out = {"steps": steps, "fill_to_bare_ratio": round(ratio, 2) if ratio else None}
    if plan:
        out["explain"] = plan
    return out


def explain_fill(batch) -> list[str]:
    """EXPLAIN ANALYZE of generation's own INSERT ... SELECT for the batch, on the database
    as it is (run, then rolled back): the statement is caught on its way to the server."""
    from eldercare.subsidies import generation

    plan: list[str] = []
    engine = db.session.get_bind().engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if not plan and statement.startswith("INSERT INTO subsidy_payment"):
            plan.append("-- " + statement.split(" SELECT ")[0])
            return "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
        return statement, parameters

    def after(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("EXPLAIN"):
            plan.extend(row[0] for row in cursor.fetchall())

    sa.event.listen(engine, "before_cursor_execute", before, retval=True)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        generation.fill(batch)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
        db.session.rollback()
    return plan


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
    from eldercare.subsidies.models import Enrolment

    if db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)):
        raise click.ClickException("the database already holds enrolments; use an empty one")
    period = local_today().replace(day=1)
    started = time.perf_counter()
    built = build_enrolments(people, period)
    click.echo(
        f"built {people} people and enrolments in {time.perf_counter() - started:.1f} s"
        f" ({built['distinct_ciphertexts']} ID ciphertexts;"
        f" {db.session.get_bind().dialect.name})"
    )
    result = run_subsidy_steps(built, period, explain)
    click.echo(f"{'step':<26}{'seconds':>10}  rows")
    for s in result["steps"]:
        click.echo(f"{s['step']:<26}{s['seconds']:>10.3f}  {s['rows']}")
    click.echo(f"generation / bare INSERT: {result['fill_to_bare_ratio']}x (target <= 3x)")
    for line in result.get("explain", []):
        click.echo(line)
    if json_out:
        import os

        os.makedirs(os.path.dirname(os.path.abspath(json_out)), exist_ok=True)
        with open(json_out, "w", encoding="utf-8") as handle:
            json.dump(
                {"people": people, "period": period.isoformat(), "build": built, **result},
                handle,
                indent=2,
                ensure_ascii=False,
            )


# --- the city benchmark ----------------------------------------------------------------------
#
# `flask bench city` measures every figure of the city-scale requirement on the database it is
# pointed at (filled by `flask demo --scale city`), and leaves it as it found it: the jobs run
# in a transaction that is rolled back, the HTTP load only reads, the bulk bed update is undone
# by a second request (the audit log keeps both, as it must), and the API tokens it mints are
# revoked. The web figures come from gunicorn on loopback, loaded from a second process.

#: The sizes the requirement names; the table says when the data is smaller.
CITY = {"enrolments": 300_000, "care_targets": 120_000, "roster_rows": 100_000, "beds": 1_000}
STEPS = ("load", "bulk", "subsidies", "visits", "roster", "exports")
VACANCY_P95_MS = 50
OVERVIEW_P95_MS = 1000
JOB_LIMIT_S = 10
BULK_LIMIT_S = 1
ROSTER_LIMIT_S = 60
RATIO_LIMIT = 3


class NotRunnable(Exception):
    """The step cannot run on the data it found; the message says why (shown in the table)."""


@dataclass
class Figure:
    """One row of the table: what was measured, the value (and how it is shown), the target
    and whether it was met (None: no target, or not measured)."""

    key: str
    figure: str
    value: float | int | None
    shown: str
    target: str = "–"
    met: bool | None = None
    note: str = ""


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "–"}[met]


def render_table(figures: list[Figure]) -> str:
    """The table: figure, value, target, met; notes numbered below it."""
    header = ("figure", "value", "target", "met")
    notes: list[str] = []
    rows = []
    for f in figures:
        label = f.figure
        if f.note:
            notes.append(f.note)
            label = f"{label} [{len(notes)}]"
        rows.append((label, f.shown, f.target, met_text(f.met)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out += [f"[{n}] {text}" for n, text in enumerate(notes, 1)]
    return "\n".join(out)


def report(figures: list[Figure], **context) -> dict:
    """The JSON written by ``--json-out``: the table's rows, then the details of each step."""
    return {
        "figures": [asdict(f) for f in figures],
        "all_targets_met": all(f.met is not False for f in figures),
        **context,
    }


def _secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def _scale_row(key: str, figure: str, count: int, city: int) -> Figure:
    at_scale = count >= city
    return Figure(
        key,
        figure,
        count,
        f"{count:,}",
        f">= {city:,} (city scale)",
        at_scale,
        "" if at_scale else f"below city scale: {count:,} of {city:,}",
    )


@contextmanager
def rolled_back():
    """Every session use inside runs in one transaction that is rolled back at the end (the
    code's own commits become savepoints), as the test suite does."""
    from eldercare.core.db import AppSession

    db.session.commit()  # nothing of the caller's left open (on SQLite: no write lock held)
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": AppSession}
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


def _vacuum(*tables: str) -> None:
    """Rid the tables of the rows a rolled-back step left dead, and renew their statistics,
    before the next step is timed (PostgreSQL; nothing to do on SQLite)."""
    db.session.commit()
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))


def _user(username: str) -> User | None:
    return db.session.scalar(
        sa.select(User).where(User.username == username, User.active.is_(True))
    )


def _account(username: str) -> dict | None:
    """An active user as plain values, the transaction ended: on SQLite an open one would
    hold the write lock that gunicorn's workers wait for."""
    user = _user(username)
    out = None
    if user is not None:
        out = {
            "id": user.id,
            "username": user.username,
            "facility_id": user.facility_id,
            "region_id": user.region_id,
        }
    db.session.commit()
    return out


def _anyone() -> User:
    """A user to stand as the maker of what a rolled-back step writes."""
    user = _user("admin") or db.session.scalar(sa.select(User).order_by(User.id).limit(1))
    if user is None:
        raise NotRunnable("no user in the database")
    return user


# --- subsidies on the loaded data --------------------------------------------------------------

#: BARE_INSERT over the enrolments that are paid (the city data also holds ended ones).
BARE_INSERT_ACTIVE = sa.text(str(BARE_INSERT) + " AND e.status = 'active'")


def subsidy_plan() -> list[dict]:
    """Each program with active enrolments and the period after its latest batch (or the
    current period where it has none), if a rule table is in force then."""
    from eldercare.subsidies import periods
    from eldercare.subsidies.models import Batch, Enrolment, Program

    counts = dict(
        db.session.execute(
            sa.select(Enrolment.program_id, sa.func.count())
            .where(Enrolment.status == "active")
            .group_by(Enrolment.program_id)
        ).all()
    )
    latest = dict(
        db.session.execute(
            sa.select(Batch.program_id, sa.func.max(Batch.period)).group_by(Batch.program_id)
        ).all()
    )
    plan = []
    for program in db.session.scalars(
        sa.select(Program).where(Program.id.in_(counts)).order_by(Program.id)
    ):
        if program.id in latest:
            period = periods.next_period(program.frequency, latest[program.id])
        else:
            period = periods.period_containing(program.frequency, local_today())
        plan.append(
            {
                "program_id": program.id,
                "code": program.code,
                "basis": program.basis,
                "period": period,
                "enrolments": counts[program.id],
                "rule_table": program.table_for(period) is not None,
            }
        )
    return plan


def _batches(plan: list[dict]) -> list:
    from eldercare.subsidies import operations as ops
    from eldercare.subsidies.models import Program

    maker = _anyone()
    out = [
        ops.batch_for(db.session.get(Program, p["program_id"]), p["period"], maker) for p in plan
    ]
    db.session.flush()
    return out


def measure_subsidies() -> tuple[list[Figure], dict]:
    """The next period's batch of every program, generated on the enrolments there are, and
    a bare INSERT ... SELECT of the same (active) enrolments; each in a transaction rolled
    back, with the payments table vacuumed between them (as it was before either)."""
    from eldercare.subsidies import generation
    from eldercare.subsidies.models import Enrolment

    plan = [p for p in subsidy_plan() if p["rule_table"]]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment))
    db.session.commit()
    if not plan:
        raise NotRunnable("no program with active enrolments and a rule table in force")
    enrolments = sum(p["enrolments"] for p in plan)

    with rolled_back():
        batches = _batches(plan)
        started = time.perf_counter()
        bare_rows = 0
        for batch, p in zip(batches, plan, strict=True):
            bare_rows += db.session.execute(
                BARE_INSERT_ACTIVE.execution_options(preserve_rowcount=True),
                {
                    "batch": batch.id,
                    "period": BARE_PERIOD,
                    "now": utcnow(),
                    "program": p["program_id"],
                },
            ).rowcount
        bare_s = time.perf_counter() - started
    _vacuum("subsidy_payment", "subsidy_batch")

    with rolled_back():
        batches = _batches(plan)
        started = time.perf_counter()
        fill_rows = sum(generation.fill(batch) for batch in batches)
        fill_s = time.perf_counter() - started
        started = time.perf_counter()
        excluded = sum(generation.exclude_ineligible(batch) for batch in batches)
        held = sum(generation.hold_suspicious(batch) for batch in batches)
        checks_s = time.perf_counter() - started
    _vacuum("subsidy_payment", "subsidy_batch")

    ratio = fill_s / bare_s if bare_s else None
    periods_text = ", ".join(sorted({p["period"].strftime("%Y-%m") for p in plan}))
    note = ""
    if bare_rows and abs(fill_rows - bare_rows) > 0.01 * bare_rows:
        note = (
            f"generation wrote {fill_rows:,} payments, the bare INSERT {bare_rows:,} rows "
            "(not every active enrolment is paid that period)"
        )
    figures = [
        _scale_row("subsidies.enrolments", "subsidies: enrolments", total, CITY["enrolments"]),
        Figure(
            "subsidies.generation_s",
            f"subsidies: generation of {len(plan)} batches ({periods_text})",
            round(fill_s, 3),
            f"{_secs(fill_s)}, {fill_rows:,} payments",
        ),
        Figure(
            "subsidies.bare_s",
            "subsidies: bare INSERT ... SELECT, same enrolments",
            round(bare_s, 3),
            f"{_secs(bare_s)}, {bare_rows:,} rows",
        ),
        Figure(
            "subsidies.ratio",
            "subsidies: generation / bare INSERT",
            round(ratio, 2) if ratio else None,
            f"{ratio:.2f}x" if ratio else "n/a",
            f"<= {RATIO_LIMIT}x",
            ratio is not None and ratio <= RATIO_LIMIT,
            note,
        ),
        Figure(
            "subsidies.checks_s",
            "subsidies: checks after generation (exclude, hold)",
            round(checks_s, 3),
            f"{_secs(checks_s)}, {excluded:,} excluded, {held:,} held",
        ),
    ]
    figures[0].shown += f" ({enrolments:,} active, paid by generation)"
    details = {
        "enrolments": total,
        "active": enrolments,
        "plan": [{**p, "period": p["period"].isoformat()} for p in plan],
        "bare_s": round(bare_s, 3),
        "bare_rows": bare_rows,
        "fill_s": round(fill_s, 3),
        "fill_rows": fill_rows,
        "checks_s": round(checks_s, 3),
        "excluded": excluded,
        "held": held,
        "ratio": round(ratio, 2) if ratio else None,
    }
    return figures, details


# --- visit jobs on the loaded data -------------------------------------------------------------


def measure_visits(now: datetime) -> tuple[list[Figure], dict]:
    """The three visit jobs, each twice at the same ``now``, in a transaction rolled back."""
    targets = db.session.scalar(
        sa.select(sa.func.count()).select_from(CareTarget).where(CareTarget.active.is_(True))
    )
    db.session.commit()
    if not targets:
        raise NotRunnable("no active care plans in the database")
    with rolled_back():
        jobs = run_visit_jobs(now)
    _vacuum("outbox_message", "care_target")
    figures = [
        _scale_row("visits.targets", "visits: active care plans", targets, CITY["care_targets"])
    ]
    for job in jobs:
        figures.append(
            Figure(
                f"visits.{job['job']}_s",
                f"visits: {job['job']} (first run)",
                job["first_s"],
                f"{_secs(job['first_s'])}, {job['enqueued']:,} enqueued",
                f"< {JOB_LIMIT_S} s",
                job["first_s"] < JOB_LIMIT_S,
            )
        )
    again = sum(job["enqueued_again"] for job in jobs)
    figures.append(
        Figure(
            "visits.enqueued_again",
            "visits: second run of each job enqueues",
            again,
            f"{again:,} ({', '.join(_secs(j['second_s']) for j in jobs)})",
            "0",
            again == 0,
        )
    )
    return figures, {"now": now.isoformat(), "targets": targets, "jobs": jobs}


# --- roster import ---------------------------------------------------------------------------

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
    user = _user("county") or _user("admin")
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
    _vacuum("person", "audit_log")
    if not result.ok:
        first = result.errors[0]
        raise RuntimeError(
            f"{len(result.errors)} rows refused, e.g. row {first.row} {first.column}: "
            f"{first.reason}"
        )
    figures = [
        _scale_row("roster.rows", f"roster: rows in the {fmt} file", rows, CITY["roster_rows"]),
        Figure(
            "roster.import_s",
            f"roster: import of {result.created:,} people ({fmt}, as {by_name})",
            round(import_s, 2),
            _secs(import_s),
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


# --- exports -----------------------------------------------------------------------------------


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

    county = _user("county")
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
                f"{_secs(took)}, {rows:,} rows, peak {peak:.0f} MiB",
                "streamed",
                peak < 64,
                "peak: Python memory traced while it ran (a second run)",
            )
        )
        details[key] = {"rows": rows, "seconds": round(took, 2), "peak_mib": round(peak, 1)}
    db.session.rollback()
    return figures, details


# --- the web: gunicorn under load, the bulk bed update, worker memory ---------------------------


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
    from eldercare.loadbench import Request, SignInFailed

    county, visitor, operator = _account("county"), _account("visitor"), _account("operator")
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
        except SignInFailed as exc:
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

    county = _user("county")
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
                _secs(took),
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

    operator = _account("operator")
    if operator is not None and operator["facility_id"]:
        own = beds(Bed.facility_id == operator["facility_id"])
        db.session.commit()
        if len(own) >= count:
            return operator, own
    admin = _account("admin")
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
    from eldercare.loadbench import call

    def send(prices: list[tuple[int, int]]):
        body = json.dumps(
            {"items": [{"bed_id": b, "monthly_price": _yuan(fen)} for b, fen in prices]}
        )
        answer = call(
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
        _scale_row(
            "bulk.beds",
            f"bulk update: beds in one request (as {user['username']})",
            len(beds),
            CITY["beds"],
        ),
        Figure(
            "bulk.seconds",
            "bulk update of beds through the API",
            round(worst, 3),
            f"{_secs(change_s)} change, {_secs(restore_s)} undo",
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
    from eldercare import loadbench

    figures: list[Figure] = []
    details: dict = {"workers": workers, "concurrency": concurrency, "duration_s": duration}
    tokens: list[int] = []
    db.session.commit()
    server = loadbench.Gunicorn(_server_env(), workers=workers)
    try:
        server.start()
        host, port = server.host, server.port
        cookies: dict[str, str] = {}

        def sign_in(username: str) -> str:
            if username not in cookies:
                cookies[username] = loadbench.sign_in(host, port, username, password)
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
                        loadbench.load_in_process(
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
                figures.append(_failed("bulk", exc))
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


# --- the command -----------------------------------------------------------------------------


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


def _failed(step: str, exc: BaseException) -> Figure:
    if isinstance(exc, NotRunnable):
        return Figure(f"{step}.not_run", f"{step}", None, f"not run: {exc}")
    message = " ".join(str(exc).split())  # one line in the table; the JSON has the trace
    if len(message) > 150:
        message = message[:147] + "..."
    return Figure(
        f"{step}.error", step, None, f"failed: {type(exc).__name__}: {message}", met=False
    )


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

    from eldercare.demo import DEMO_PASSWORD

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
            figures.append(_failed(step, exc))
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


@bench_cli.command("city")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the figures here.")
@click.option("--duration", default=10.0, show_default=True, help="Seconds of load per endpoint.")
@click.option("--concurrency", default=4, show_default=True, help="Client threads per endpoint.")
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
        f"{concurrency} client threads, {duration:g} s per endpoint; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    click.echo(render_table(figures))
    if json_out:
        os.makedirs(os.path.dirname(os.path.abspath(json_out)), exist_ok=True)
        with open(json_out, "w", encoding="utf-8") as handle:
            json.dump(report(figures, **details), handle, indent=2, ensure_ascii=False, default=str)
        click.echo(f"written: {json_out}")
