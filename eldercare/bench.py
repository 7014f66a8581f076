"""Benchmarks, kept out of the test run: `flask bench visits` builds a county-sized (or city-
sized) set of care plans in a database of its own and times the scheduler's visit jobs;
`flask bench subsidies` builds a city's enrolments and times a month's subsidy batch."""

from __future__ import annotations

import json
import random
import time
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
