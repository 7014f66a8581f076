"""Day care: the settings of every day-care center, happiness home and community station,
members from their own township, and three months of attendance, meals and activities (a
few centers stopped recording three weeks ago: the county view flags them)."""

from __future__ import annotations

from datetime import timedelta

from eldercare.core.crypto import encrypt
from eldercare.daycare.models import (
    DAYCARE_KINDS,
    Activity,
    Attendance,
    Center,
    ClosedDay,
    Incident,
    Meal,
    Member,
    activity_participant,
)
from eldercare.devtools.demo.data import SURNAMES
from eldercare.devtools.scale.base import Build, apportion, days_between
from eldercare.devtools.scale.bulk import unchecked

HISTORY_DAYS = 91
ABSENT = 0.12
#: Centers that recorded nothing for the last three weeks.
IDLE_SHARE = 0.05
ACTIVITIES = [
    ("太极拳", "exercise"),
    ("健康讲座：冬季防跌倒", "health"),
    ("手工编织", "handicraft"),
    ("戏曲欣赏", "culture"),
    ("生日会", "social"),
    ("血压血糖义诊", "health"),
    ("八段锦", "exercise"),
]
INCIDENTS = [
    ("fall", "minor", "午休后起身时滑倒，膝部擦伤，已消毒包扎。", "通知家属，观察一小时无异常"),
    (
        "choking",
        "serious",
        "午餐时进食过快发生噎食，经海姆立克法处置后缓解。",
        "送社区卫生服务站检查",
    ),
    ("scald", "minor", "接热水时手背轻度烫伤，已冷水冲洗。", "更换保温水壶"),
]
MEMBER_COLUMNS = (
    "id",
    "facility_id",
    "person_id",
    "joined_on",
    "days",
    "transport",
    "subsidised_meals",
    "emergency_contact",
    "emergency_phone",
    "created_at",
    "updated_at",
)
ATTENDANCE_COLUMNS = (
    "id",
    "facility_id",
    "person_id",
    "day",
    "check_in_at",
    "check_out_at",
    "walk_in",
    "recorded_by_id",
)
MEAL_COLUMNS = (
    "id",
    "facility_id",
    "person_id",
    "day",
    "meal_type",
    "subsidised",
    "price_fen",
    "recorded_by_id",
)


def _settings(kind: str, rng) -> tuple[int, list[int], list[str], int]:
    """Capacity, opening days, meals and meal price of a center of ``kind``."""
    if kind == "day_care":
        return (
            rng.randint(30, 60),
            rng.choice([[0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5]]),
            rng.choice([["lunch"], ["breakfast", "lunch"]]),
            rng.randrange(1000, 1601, 100),
        )
    if kind == "happiness_home":
        return rng.randint(15, 30), rng.choice([[0, 2, 4], [0, 1, 2, 3, 4]]), ["lunch"], 800
    return rng.randint(20, 40), [0, 1, 2, 3, 4], ["lunch"], rng.randrange(800, 1201, 100)


def _pools(build: Build, rng) -> dict[str, list[int]]:
    """Living people at home, 65 and over, of each township, in a random order."""
    people = build.people
    born_by = build.today.replace(year=build.today.year - 65)
    pools: dict[str, list[int]] = {}
    for index in range(len(people)):
        if index in people.death or index in build.residents or people.birth[index] > born_by:
            continue
        pools.setdefault(build.villages[people.village[index]].township_code, []).append(index)
    for pool in pools.values():
        rng.shuffle(pool)
    return pools


def _next_member(pools: dict[str, list[int]], township: str) -> int | None:
    """Someone of the township, else of its county, else of anywhere."""
    for pool in (
        pools.get(township),
        max((p for t, p in pools.items() if t[:6] == township[:6]), key=len, default=None),
        max(pools.values(), key=len, default=None),
    ):
        if pool:
            return pool.pop()
    return None


def load_daycare(build: Build) -> None:
    rng = build.rng("daycare")
    loader, today, now = build.loader, build.today, build.now
    people = build.people
    centers = [f for f in build.facilities if f["kind"] in DAYCARE_KINDS]
    if not centers:
        return
    settings = {c["id"]: _settings(c["kind"], rng) for c in centers}
    wanted = apportion(build.scale.daycare_members, [settings[c["id"]][0] for c in centers])
    pools = _pools(build, rng)
    center_rows, closed_rows, member_rows = [], [], []
    members_of: dict[int, list[tuple]] = {}
    first_member = loader.ids(Member.__table__, build.scale.daycare_members)
    first_start = today - timedelta(days=HISTORY_DAYS)
    for center, members in zip(centers, wanted, strict=True):
        fid = center["id"]
        size, open_days, meals, price = settings[fid]
        center_rows.append((fid, size, open_days, meals, price, center["opened"], center["opened"]))
        if rng.random() < 0.3:  # closed one Monday for repairs
            closed = today - timedelta(days=today.weekday() + 7 * rng.randint(2, 10))
            closed_rows.append((fid, closed, rng.choice(["设备检修", "节日放假", "消毒"])))
        own = []
        for _ in range(members):
            index = _next_member(pools, center["township"])
            if index is None:
                break
            days = sorted(rng.sample(open_days, min(len(open_days), rng.choice([2, 3, 4, 5]))))
            joined = today - timedelta(days=rng.randrange(20, 700))
            subsidised = people.economic[index] != 0
            member_id = first_member + len(member_rows)
            at = build.at(joined, 10)
            member_rows.append(
                (
                    member_id,
                    fid,
                    people.id_of(index),
                    joined,
                    days,
                    rng.random() < 0.2,
                    subsidised,
                    rng.choice(SURNAMES) + rng.choice(["先生", "女士"]),
                    f"139{rng.randrange(10**7, 10**8)}",
                    at,
                    at,
                )
            )
            own.append((index, joined, set(days), subsidised))
        members_of[fid] = own
    first_center = loader.ids(Center.__table__, len(center_rows))
    first_closed = loader.ids(ClosedDay.__table__, len(closed_rows))
    build.count(
        "daycare_center",
        loader.write(
            Center.__table__,
            (
                "id",
                "facility_id",
                "capacity",
                "open_days",
                "meal_types",
                "meal_price_fen",
                "created_at",
                "updated_at",
            ),
            ((first_center + n, *row) for n, row in enumerate(center_rows)),
        ),
    )
    build.count(
        "daycare_closed_day",
        loader.write(
            ClosedDay.__table__,
            ("id", "facility_id", "day", "reason"),
            ((first_closed + n, *row) for n, row in enumerate(closed_rows)),
        ),
    )
    build.count("daycare_member", loader.write(Member.__table__, MEMBER_COLUMNS, member_rows))

    closed_days = {(fid, day) for fid, day, _ in closed_rows}
    meals_made = []
    activities, participants, incidents = [], [], []
    first_attendance = loader.ids(Attendance.__table__, 0)
    now_hour = build.local_hour()

    def attendance():
        n = 0
        for center in centers:
            fid = center["id"]
            _size, open_days, meal_types, price = settings[fid]
            operator = build.operators[fid]
            last = today - timedelta(days=21) if rng.random() < IDLE_SHARE else today
            for day in days_between(first_start, last):
                if day.weekday() not in open_days or (fid, day) in closed_days:
                    continue
                came = []
                for index, joined, days, subsidised in members_of[fid]:
                    if day < joined or day.weekday() not in days or rng.random() < ABSENT:
                        continue
                    hour = rng.choice([8, 8.5, 9, 9.5])
                    if day == today and hour > now_hour:
                        continue  # not here yet
                    check_in = build.at(day, hour)
                    check_out = (
                        None if day == today else check_in + timedelta(hours=rng.choice([6, 7, 8]))
                    )
                    yield (
                        first_attendance + n,
                        fid,
                        people.id_of(index),
                        day,
                        check_in,
                        check_out,
                        False,
                        operator,
                    )
                    n += 1
                    came.append(index)
                    for meal in meal_types:
                        if rng.random() < 0.85:
                            meals_made.append(
                                (fid, people.id_of(index), day, meal, subsidised, price, operator)
                            )
                if came and day.weekday() in (1, 3) and day < today:
                    title, category = rng.choice(ACTIVITIES)
                    start = build.at(day, 14)
                    activities.append(
                        (fid, title, category, start, start + timedelta(hours=1.5), operator)
                    )
                    for index in rng.sample(came, min(len(came), 10)):
                        participants.append((len(activities) - 1, people.id_of(index)))
                    if rng.random() < 0.02:
                        incidents.append((fid, rng.choice(came), day, operator))

    with unchecked(loader, "daycare_attendance", "daycare_meal"):
        written = loader.write(Attendance.__table__, ATTENDANCE_COLUMNS, attendance())
        loader.ids(Attendance.__table__, written)
        build.count("daycare_attendance", written)
        first_meal = loader.ids(Meal.__table__, len(meals_made))
        build.count(
            "daycare_meal",
            loader.write(
                Meal.__table__,
                MEAL_COLUMNS,
                ((first_meal + n, *row) for n, row in enumerate(meals_made)),
            ),
        )
    first_activity = loader.ids(Activity.__table__, len(activities))
    build.count(
        "daycare_activity",
        loader.write(
            Activity.__table__,
            (
                "id",
                "facility_id",
                "title",
                "category",
                "starts_at",
                "ends_at",
                "note",
                "recorded_by_id",
                "created_at",
                "updated_at",
            ),
            (
                (first_activity + n, fid, title, category, start, end, "", by, end, end)
                for n, (fid, title, category, start, end, by) in enumerate(activities)
            ),
        ),
    )
    build.count(
        "daycare_activity_participant",
        loader.write(
            activity_participant,
            ("activity_id", "person_id"),
            ((first_activity + n, person) for n, person in participants),
        ),
    )
    first_incident = loader.ids(Incident.__table__, len(incidents))
    rows = []
    for n, (fid, index, day, by) in enumerate(incidents):
        risk, severity, description, action = rng.choice(INCIDENTS)
        at = build.at(day, 13)
        closed = day < today - timedelta(days=14)
        rows.append(
            (
                first_incident + n,
                fid,
                people.id_of(index),
                at,
                risk,
                severity,
                encrypt(description),
                action,
                "",
                at + timedelta(days=3) if closed else None,
                by if closed else None,
                "已整改，家属知情" if closed else "",
                by,
                at,
                now,
            )
        )
    build.count(
        "daycare_incident",
        loader.write(
            Incident.__table__,
            (
                "id",
                "facility_id",
                "person_id",
                "occurred_at",
                "risk",
                "severity",
                "description",
                "action_taken",
                "follow_up",
                "closed_at",
                "closed_by_id",
                "resolution",
                "reported_by_id",
                "created_at",
                "updated_at",
            ),
            rows,
        ),
    )
