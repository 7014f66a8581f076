"""The visit jobs' benchmark: `flask bench visits` builds a county's (or a city's) care
plans in a database of its own and times the scheduler's visit jobs; the city benchmark times
them on the data it finds."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import click
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.crypto import encrypt
from eldercare.core.db import local_today, utcnow
from eldercare.devtools.bench.data import bench_regions, insert_rows, rolled_back, vacuum
from eldercare.devtools.bench.table import CITY, JOB_LIMIT_S, Figure, NotRunnable, scale_row, secs
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people.models import Person
from eldercare.visits.models import CareAssignment, CareTarget, Visit

INTERVALS = {"high": 7, "key": 30, "general": 90}


def build_plans(targets: int, seed: int = 7) -> dict:
    """``targets`` people in covered categories, each with a plan, one visitor per 100 plans
    and a last visit spread so that about a tenth are overdue; set-based inserts."""
    rng = random.Random(seed)
    today = local_today()
    villages = bench_regions(townships=max(targets // 10000, 1), villages=20)
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
    insert_rows(
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
    insert_rows(Person.__table__, people)
    insert_rows(CareTarget.__table__, plans)
    insert_rows(CareAssignment.__table__, assignments)
    insert_rows(Visit.__table__, visits)
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


def run_bench(targets: int, json_out: str | None) -> None:
    """`flask bench visits`: build ``targets`` plans, run the jobs, print the figures."""
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
    vacuum("outbox_message", "care_target")
    figures = [
        scale_row("visits.targets", "visits: active care plans", targets, CITY["care_targets"])
    ]
    for job in jobs:
        figures.append(
            Figure(
                f"visits.{job['job']}_s",
                f"visits: {job['job']} (first run)",
                job["first_s"],
                f"{secs(job['first_s'])}, {job['enqueued']:,} enqueued",
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
            f"{again:,} ({', '.join(secs(j['second_s']) for j in jobs)})",
            "0",
            again == 0,
        )
    )
    return figures, {"now": now.isoformat(), "targets": targets, "jobs": jobs}
