"""People visited regularly: care targets chosen among the living people at home in a
covered category, their tier by the county's (default) policy, one visitor per hundred of
them, and a year of visits at the tier's interval; about a tenth are overdue today."""

from __future__ import annotations

import math
from datetime import timedelta

from eldercare.devtools.demo.data import DEMO_VISIT_NOTES, SURNAMES
from eldercare.devtools.scale.base import ABILITY, Build, Weighted
from eldercare.devtools.scale.bulk import unchecked
from eldercare.devtools.scale.users import Accounts
from eldercare.visits.models import CareAssignment, CareTarget, Visit, VisitPolicy
from eldercare.visits.operations import categories_of, compute_tier

TARGETS_PER_VISITOR = 100
DEMO_TOWNSHIP = "610302006"  # 马营镇, where the demo's visitor works
DEMO_TARGETS = 5
OVERDUE_SHARE = 0.1
MISSED = 0.07
HAZARDS = ["屋内电线老化", "卫生间地面湿滑", "煤炉通风不畅", "楼梯扶手松动"]
TARGET_COLUMNS = (
    "id",
    "person_id",
    "county_id",
    "categories",
    "computed_tier",
    "override_reason",
    "enrolled_on",
    "enrolled_by_id",
    "active",
    "last_visit_at",
    "next_due_on",
    "created_at",
    "updated_at",
)
VISIT_COLUMNS = (
    "id",
    "target_id",
    "visitor_id",
    "visited_at",
    "method",
    "living_conditions",
    "health",
    "mood",
    "family_support",
    "safety_hazards",
    "services_received",
    "needs_referred",
    "summary",
    "created_at",
    "updated_at",
)
MODERATE = ABILITY.index("moderate")
#: How a visit was made, and its findings (the first choice: no concern).
FINDINGS = [
    Weighted(["home", "phone", "video"], [70, 25, 5]),
    Weighted(["good", "fair", "poor"], [70, 25, 5]),
    Weighted(["stable", "changed", "poor"], [75, 20, 5]),
    Weighted(["good", "fair", "low"], [70, 25, 5]),
    Weighted(["fulfilled", "partial", "absent"], [70, 25, 5]),
]


def _candidates(build: Build) -> list[int]:
    """Living people at home (not in a bed of a home) in a covered category."""
    people = build.people
    out = []
    for index in range(len(people)):
        if index in people.death or index in build.residents:
            continue
        ability = people.ability.get(index)
        if people.flags[index] or (ability is not None and ability[0] >= MODERATE):
            out.append(index)
    return out


def _visitors(build: Build, by_township: dict[str, list[int]]) -> dict[str, list[int]]:
    """One visitor per hundred targets of each township, living in its villages; the demo's
    visitor is the first of 马营镇."""
    rng = build.rng("visitors")
    needed = {t: math.ceil(len(own) / TARGETS_PER_VISITOR) for t, own in by_township.items()}
    accounts = Accounts(build, sum(needed.values()))
    villages_of: dict[str, list] = {}
    for village in build.villages:
        villages_of.setdefault(village.township_code, []).append(village)
    out = {}
    for township, count in sorted(needed.items()):
        ids = []
        if township == DEMO_TOWNSHIP and "visitor" in build.users:
            ids.append(build.users["visitor"])
        for n in range(len(ids), count):
            village = villages_of[township][n % len(villages_of[township])]
            ids.append(
                accounts.add(
                    f"visitor-{township}-{n + 1}",
                    f"{village.name} {rng.choice(SURNAMES)}探访员",
                    "visitor",
                    region_code=village.code,
                )
            )
        out[township] = ids
    accounts.write()
    return out


def load_visits(build: Build) -> None:
    rng = build.rng("visits")
    loader, today = build.loader, build.today
    people, villages = build.people, build.villages
    policy = VisitPolicy.defaults()
    candidates = _candidates(build)
    chosen = rng.sample(candidates, min(build.scale.targets, len(candidates)))
    # The demo visitor's township (马营镇) has a few at least, whatever the scale.
    own = [i for i in chosen if villages[people.village[i]].township_code == DEMO_TOWNSHIP]
    if len(own) < DEMO_TARGETS:
        taken = set(chosen)
        more = [
            i
            for i in candidates
            if villages[people.village[i]].township_code == DEMO_TOWNSHIP and i not in taken
        ][: DEMO_TARGETS - len(own)]
        mine = set(own)
        others = [i for i in chosen if i not in mine]
        chosen = others[: len(chosen) - len(own) - len(more)] + own + more
    chosen.sort()
    by_township: dict[str, list[int]] = {}
    for index in chosen:
        by_township.setdefault(villages[people.village[index]].township_code, []).append(index)
    visitors = _visitors(build, by_township)
    first_target = loader.ids(CareTarget.__table__, len(chosen))
    # (target id, visitor id, interval, enrolled on, day and time of the last visit)
    plans: list[tuple] = []
    targets, assignments = [], []
    soonest_today = 0 if build.local_hour() >= 9 else 1  # no visit later today than now
    for township in sorted(by_township):
        own = sorted(by_township[township], key=lambda i: (people.village[i], i))
        staff = build.township_staff[township]
        ids = visitors[township]
        size = math.ceil(len(own) / len(ids))
        for n, index in enumerate(own):
            visitor = ids[n // size]
            facts = people.facts(index)
            found = people.ability.get(index)
            ability = ABILITY[found[0]] if found else None
            categories = categories_of(facts, ability)
            tier = compute_tier(facts, ability, categories, policy, today)
            interval = policy.interval_days(tier)
            if rng.random() < 0.85:
                enrolled = today - timedelta(days=rng.randrange(366, 900))
            else:
                enrolled = today - timedelta(days=rng.randrange(14, 366))
            if rng.random() < OVERDUE_SHARE:
                gap = interval + rng.randint(1, max(3, interval // 2))
            else:
                gap = rng.randint(soonest_today, interval)
            if visitor == build.users.get("visitor") and n < 2:
                # The demo visitor always has one overdue and one due soon.
                gap = interval + 3 if n == 0 else max(interval - 1, soonest_today)
            gap = min(gap, (today - enrolled).days)  # a first visit was made since enrolment
            last_day = today - timedelta(days=gap)
            latest = min(18.0, build.local_hour()) if gap == 0 else 18.0
            last_at = build.at(last_day, rng.uniform(8, latest))
            target_id = first_target + len(targets)
            enrolled_at = build.at(enrolled, 10)
            targets.append(
                (
                    target_id,
                    people.id_of(index),
                    build.regions[township[:6] + "000000"].id,
                    categories,
                    tier,
                    "",
                    enrolled,
                    staff,
                    True,
                    last_at,
                    last_day + timedelta(days=interval),
                    enrolled_at,
                    last_at,
                )
            )
            assignments.append((target_id, visitor, enrolled_at, staff))
            plans.append((target_id, visitor, interval, enrolled, last_day, last_at))
    build.count("care_target", loader.write(CareTarget.__table__, TARGET_COLUMNS, targets))
    first_assignment = loader.ids(CareAssignment.__table__, len(assignments))
    build.count(
        "care_assignment",
        loader.write(
            CareAssignment.__table__,
            ("id", "target_id", "visitor_id", "assigned_at", "assigned_by_id"),
            ((first_assignment + n, *a) for n, a in enumerate(assignments)),
        ),
    )
    first_visit = loader.ids(Visit.__table__, 0)

    def visits():
        n = 0
        since = today - timedelta(days=365)
        for target_id, visitor, interval, enrolled, last_day, last_at in plans:
            day, at = last_day, last_at
            start = max(enrolled, since)
            while day >= start:
                if at is not None or rng.random() > MISSED:
                    at = at or build.at(day, rng.uniform(8, 18))
                    yield (
                        first_visit + n,
                        target_id,
                        visitor,
                        at,
                        *(draw.pick(rng) for draw in FINDINGS),
                        rng.choice(HAZARDS) if rng.random() < 0.03 else "",
                        "",
                        "",
                        rng.choice(DEMO_VISIT_NOTES),
                        at,
                        at,
                    )
                    n += 1
                at = None
                day -= timedelta(days=interval + rng.randint(-2, 2))

    with unchecked(loader, "visit"):
        written = loader.write(Visit.__table__, VISIT_COLUMNS, visits())
    loader.ids(Visit.__table__, written)
    build.count("visit", written)
