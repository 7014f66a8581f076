"""The data feed's benchmark: `flask bench feeds` builds a county of its own with ``people``
registered people (real blind indexes), then imports a death list of ``rows`` rows (most
exact, some under another name, some unknown, a few invalid ID numbers) as county staff:
upload, processing and commit timed together against the 30 s target. The same run measures
a baseline, the registry's own ``record_death`` called directly for as many people as the
list applied, so the ratio says what the feed adds to the work of the one writer (and of
every feature answering it); then the same file again (everything already known)."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from datetime import timedelta

import click
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core import resident_id
from eldercare.core.crypto import encrypt
from eldercare.core.db import local_today, utcnow
from eldercare.devtools.bench.data import analyze, bench_regions, insert_rows
from eldercare.extensions import db
from eldercare.people.models import Person, id_number_index

TARGET_S = 30.0
#: Shares of the list's rows: exact, another name, unknown ID, invalid ID.
MIX = (0.90, 0.05, 0.04, 0.01)


def _numbers(n: int, rng: random.Random, today) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        born = today - timedelta(days=rng.randrange(61 * 365, 98 * 365))
        out.add(resident_id.synthesise("619900", born, rng.choice("MF"), rng))
    return sorted(out)


def build_county(people: int, extra: int, seed: int = 19) -> dict:
    """``people`` + ``extra`` registered people in the bench county (the extra ones are the
    baseline's) and two county staff; returns the numbers and ids the list needs."""
    rng = random.Random(seed)
    today = local_today()
    villages = bench_regions(townships=max(people // 20000, 1), villages=20)
    county = villages[0].parent.parent
    now = utcnow()
    insert_rows(
        User.__table__,
        [
            {
                "username": f"bench-feeds-{i}",
                "display_name": f"县民政局{i}",
                "role": "county_staff",
                "region_id": county.id,
                "password_hash": "!",
                "email": f"bench-feeds-{i}@bench.local",
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for i in (1, 2)
        ],
    )
    numbers = _numbers(people + extra, rng, today)
    token = encrypt("619900195001010000")  # the feed never reads the stored number back
    rows = []
    for i, number in enumerate(numbers):
        parsed = resident_id.parse(number, today)
        rows.append(
            {
                "name": f"老人{i}",
                "id_number": token,
                "id_number_index": id_number_index(number),
                "id_number_masked": parsed.masked,
                "birth_date": parsed.birth_date,
                "sex": parsed.sex,
                "region_id": villages[i % len(villages)].id,
                "lives_alone": False,
                "empty_nest": False,
                "left_behind": False,
                "special_family": False,
                "economic_status": "none",
                "hukou_type": "local",
                "address": "",
                "hukou_address": "",
                "moved_out_to": "",
                "created_at": now,
                "updated_at": now,
            }
        )
    insert_rows(Person.__table__, rows)
    db.session.commit()
    return {"numbers": numbers, "county_id": county.id, "people": people, "extra": extra}


def death_list(built: dict, rows: int, seed: int = 7) -> tuple[bytes, dict]:
    """A CSV death list of ``rows`` rows in the MIX, and how many of each kind it holds."""
    rng = random.Random(seed)
    today = local_today()
    registered = built["numbers"][: built["people"]]
    chosen = rng.sample(range(len(registered)), min(rows, len(registered)))
    exact_n = int(rows * MIX[0])
    renamed_n = int(rows * MIX[1])
    unknown_n = int(rows * MIX[2])
    invalid_n = rows - exact_n - renamed_n - unknown_n
    strangers = [n for n in _numbers(unknown_n * 2, random.Random(seed + 1), today)]
    strangers = [n for n in strangers if n not in set(built["numbers"])][:unknown_n]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["序号", "死者姓名", "公民身份号码", "火化日期", "殡仪馆"])
    died = (today - timedelta(days=20)).isoformat()
    n = 0
    for k in range(exact_n + renamed_n):
        i = chosen[k]
        name = f"老人{i}" if k < exact_n else f"别名{i}"
        n += 1
        writer.writerow([n, name, registered[i], died, "基准县殡仪馆"])
    for number in strangers:
        n += 1
        writer.writerow([n, "外县人", number, died, "基准县殡仪馆"])
    for k in range(invalid_n):
        n += 1
        writer.writerow([n, "坏号", f"61990019{k:09d}"[:17], died, "基准县殡仪馆"])
    mix = {"exact": exact_n, "renamed": renamed_n, "unknown": len(strangers), "invalid": invalid_n}
    return out.getvalue().encode("utf-8"), mix


def _officer(i: int) -> User:
    return db.session.scalar(sa.select(User).where(User.username == f"bench-feeds-{i}"))


def _timed_import(content: bytes, name: str) -> tuple[float, object]:
    from eldercare.feeds import operations as ops
    from eldercare.feeds.schemas import Upload

    by = _officer(1)
    started = time.perf_counter()
    feed_import = ops.upload(
        {
            "kind": "death",
            "source_name": "基准县殡仪馆",
            "county_id": None,
            "file": Upload(name, content),
        },
        by,
    )
    mapping = {key: int(index) for key, index in ops.mapping_page(feed_import)["chosen"].items()}
    done = ops.process(feed_import, mapping, by)
    db.session.commit()
    seconds = time.perf_counter() - started
    return seconds, done


def _baseline(built: dict, count: int) -> float:
    """``record_death`` called directly for ``count`` of the extra people (no list, no
    matching): seconds, committed once."""
    from eldercare.people import life_events

    extra = built["numbers"][built["people"] :][:count]
    digests = [id_number_index(n) for n in extra]
    by = _officer(2)
    people = list(db.session.scalars(sa.select(Person).where(Person.id_number_index.in_(digests))))
    died = local_today() - timedelta(days=20)
    started = time.perf_counter()
    for person in people:
        with db.session.begin_nested():
            life_events.record_death(person, died, by, source="feed", source_ref="bench")
    db.session.commit()
    return time.perf_counter() - started


def run_bench(people: int, rows: int, baseline_rows: int, json_out: str | None) -> dict:
    """`flask bench feeds`: build, import, baseline, re-import; print the figures."""
    from eldercare.feeds.models import FeedImport

    if db.session.scalar(sa.select(sa.func.count()).select_from(FeedImport)):
        raise click.ClickException("the database already holds feed imports; use an empty one")
    dialect = db.session.get_bind().dialect.name
    started = time.perf_counter()
    built = build_county(people, baseline_rows)
    analyze()
    click.echo(
        f"built {people:,} + {baseline_rows:,} people "
        f"in {time.perf_counter() - started:.1f} s ({dialect})"
    )
    content, mix = death_list(built, rows)
    click.echo(f"death list: {rows:,} rows, {len(content) / 1024:.0f} KB, mix {mix}")

    seconds, done = _timed_import(content, "基准死亡名单.csv")
    counts = {
        k: getattr(done, k)
        for k in ("applied", "already_known", "to_review", "unknown", "rejected", "queued_before")
    }
    click.echo(f"import:    {seconds:7.2f} s  {counts}")
    base = _baseline(built, min(baseline_rows, done.applied))
    per_row_feed = seconds / max(done.applied, 1)
    per_row_base = base / max(min(baseline_rows, done.applied), 1)
    click.echo(
        f"baseline:  {base:7.2f} s  record_death directly for {min(baseline_rows, done.applied):,}"
        f" people ({per_row_base * 1000:.2f} ms each; the feed {per_row_feed * 1000:.2f} ms per"
        f" applied row)"
    )
    again, redone = _timed_import(content, "基准死亡名单（重复）.csv")
    click.echo(
        f"again:     {again:7.2f} s  applied {redone.applied}, already known "
        f"{redone.already_known}, already waiting {redone.queued_before}"
    )
    ratio_target = seconds / TARGET_S
    ratio_base = per_row_feed / per_row_base if per_row_base else None
    click.echo(
        f"import / 30 s target: {ratio_target:.2f} ({'met' if seconds < TARGET_S else 'NOT met'});"
        f" feed / baseline per applied row: {ratio_base:.2f}x"
    )
    result = {
        "dialect": dialect,
        "people": people,
        "rows": rows,
        "mix": mix,
        "import_s": round(seconds, 2),
        "counts": counts,
        "target_s": TARGET_S,
        "ratio_to_target": round(ratio_target, 3),
        "baseline_s": round(base, 2),
        "baseline_rows": min(baseline_rows, done.applied),
        "ratio_to_baseline_per_row": round(ratio_base, 2) if ratio_base else None,
        "reimport_s": round(again, 2),
    }
    if json_out:
        with open(json_out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2, ensure_ascii=False)
    return result
