"""The subsidy batch's benchmark: `flask bench subsidies` builds a city's enrolments and
times a month's batch step by step; the city benchmark times generation against a bare
INSERT ... SELECT on the data it finds."""

from __future__ import annotations

import json
import random
import time
from datetime import date, timedelta

import click
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.crypto import encrypt
from eldercare.core.db import local_today, utcnow
from eldercare.devtools.bench.data import (
    analyze,
    anyone,
    bench_regions,
    insert_rows,
    raw_table,
    rolled_back,
    vacuum,
)
from eldercare.devtools.bench.table import CITY, RATIO_LIMIT, Figure, NotRunnable, scale_row, secs
from eldercare.extensions import db
from eldercare.people.models import Person

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
    villages = bench_regions(townships=max(people // 10000, 1), villages=20)
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
    insert_rows(raw_table(Person.__table__.name, person_rows[0]), person_rows)
    insert_rows(raw_table(Enrolment.__table__.name, enrolment_rows[0]), enrolment_rows)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT setval('person_id_seq', (SELECT max(id) FROM person))"))
    db.session.commit()
    analyze()
    return {
        "people": people,
        "program_id": program.id,
        "maker_id": staff[0].id,
        "checker_id": staff[1].id,
        "distinct_ciphertexts": len(tokens),
        "prepare_s": round(prepared, 2),
    }


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
    analyze()
    batch = db.session.get(Batch, batch.id)
    plan = []
    if explain:
        plan = explain_fill(batch)
        analyze()  # the rolled-back rows' pages would change the timed run's plan
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


def run_bench(people: int, explain: bool, json_out: str | None) -> None:
    """`flask bench subsidies`: build ``people`` enrolments, time the batch, print the steps."""
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

    maker = anyone()
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
    vacuum("subsidy_payment", "subsidy_batch")

    with rolled_back():
        batches = _batches(plan)
        started = time.perf_counter()
        fill_rows = sum(generation.fill(batch) for batch in batches)
        fill_s = time.perf_counter() - started
        started = time.perf_counter()
        excluded = sum(generation.exclude_ineligible(batch) for batch in batches)
        held = sum(generation.hold_suspicious(batch) for batch in batches)
        checks_s = time.perf_counter() - started
    vacuum("subsidy_payment", "subsidy_batch")

    ratio = fill_s / bare_s if bare_s else None
    periods_text = ", ".join(sorted({p["period"].strftime("%Y-%m") for p in plan}))
    note = ""
    if bare_rows and abs(fill_rows - bare_rows) > 0.01 * bare_rows:
        note = (
            f"generation wrote {fill_rows:,} payments, the bare INSERT {bare_rows:,} rows "
            "(not every active enrolment is paid that period)"
        )
    figures = [
        scale_row("subsidies.enrolments", "subsidies: enrolments", total, CITY["enrolments"]),
        Figure(
            "subsidies.generation_s",
            f"subsidies: generation of {len(plan)} batches ({periods_text})",
            round(fill_s, 3),
            f"{secs(fill_s)}, {fill_rows:,} payments",
        ),
        Figure(
            "subsidies.bare_s",
            "subsidies: bare INSERT ... SELECT, same enrolments",
            round(bare_s, 3),
            f"{secs(bare_s)}, {bare_rows:,} rows",
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
            f"{secs(checks_s)}, {excluded:,} excluded, {held:,} held",
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
