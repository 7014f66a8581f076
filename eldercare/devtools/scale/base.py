"""The figures of each scale and the state one generator run shares between its stages."""

from __future__ import annotations

import random
import time
from array import array
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from itertools import accumulate
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from eldercare.core.db import local_zone
from eldercare.core.resident_id import age_on

if TYPE_CHECKING:
    from eldercare.devtools.scale.bulk import Loader
    from eldercare.devtools.scale.crypto import Encryptor
    from eldercare.regions.models import Region


@dataclass(frozen=True)
class Scale:
    """How much of everything one scale holds (DOMAIN.md section 4 for a city)."""

    name: str
    people: int
    facilities: int
    beds: int
    targets: int  # people visited regularly
    enrolments: int  # subsidy enrolments of people
    daycare_members: int
    family_users: int
    bookings: int

    def divided(self, by: int, name: str) -> Scale:
        """The same city, ``by`` times smaller (every figure at least 1)."""
        return replace(
            self,
            name=name,
            **{
                key: max(getattr(self, key) // by, 1)
                for key in (
                    "people",
                    "facilities",
                    "beds",
                    "targets",
                    "enrolments",
                    "daycare_members",
                    "family_users",
                    "bookings",
                )
            },
        )


CITY = Scale(
    name="city",
    people=1_000_000,
    facilities=600,
    beds=60_000,
    targets=120_000,
    enrolments=300_000,
    daycare_members=10_000,
    family_users=15_000,
    bookings=40_000,
)
SCALES = {
    "small": CITY.divided(100, "small"),
    "county": CITY.divided(10, "county"),
    "city": CITY,
}


class ScaleError(Exception):
    """The generator cannot run on this database (it is not empty, say)."""


@dataclass
class Village:
    """A village or urban community people live in, with what the generator needs of it."""

    index: int
    id: int
    code: str
    name: str
    full_name: str
    township_code: str  # 9 significant digits
    county_code: str  # 6 digits
    urban: bool


@dataclass
class Facts:
    """The registry facts of one generated person that the visit rules read
    (``visits.operations.compute_tier`` and ``categories_of``)."""

    birth_date: date
    economic_status: str
    lives_alone: bool
    empty_nest: bool
    left_behind: bool
    special_family: bool

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


#: Person flags packed in one byte each.
LIVES_ALONE, EMPTY_NEST, LEFT_BEHIND, SPECIAL_FAMILY = 1, 2, 4, 8
ECONOMIC = ["none", "dibao", "tekun_concentrated", "tekun_dispersed", "low_income"]
ABILITY = ["intact", "mild", "moderate", "severe", "total"]


@dataclass
class People:
    """Every generated person by index (id = ``first_id + index``), compactly: what later
    stages choose residents, visit targets, subsidy enrolments and members by."""

    first_id: int = 0
    birth: list[date] = field(default_factory=list)
    village: array = field(default_factory=lambda: array("I"))
    flags: bytearray = field(default_factory=bytearray)
    economic: bytearray = field(default_factory=bytearray)
    name: list[str] = field(default_factory=list)
    address: list[str] = field(default_factory=list)
    death: dict[int, date] = field(default_factory=dict)
    #: index -> (ABILITY index, assessed_on) of the person's (only) assessment
    ability: dict[int, tuple[int, date]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.birth)

    def id_of(self, index: int) -> int:
        return self.first_id + index

    def facts(self, index: int) -> Facts:
        flags = self.flags[index]
        return Facts(
            birth_date=self.birth[index],
            economic_status=ECONOMIC[self.economic[index]],
            lives_alone=bool(flags & LIVES_ALONE),
            empty_nest=bool(flags & EMPTY_NEST),
            left_behind=bool(flags & LEFT_BEHIND),
            special_family=bool(flags & SPECIAL_FAMILY),
        )


@dataclass
class Build:
    """One run of the generator: the scale, the clock it runs at, the random streams, and
    what each stage leaves for the next ones."""

    scale: Scale
    seed: int
    today: date
    now: datetime
    log: Callable[[str], None]
    loader: Loader | None = None
    crypto: Encryptor | None = None
    password_hash: str = ""
    regions: dict[str, Region] = field(default_factory=dict)  # by code
    villages: list[Village] = field(default_factory=list)
    people: People = field(default_factory=People)
    #: username -> id, and the scoped accounts by their region code or facility id
    users: dict[str, int] = field(default_factory=dict)
    county_staff: dict[str, tuple[int, int]] = field(default_factory=dict)  # county -> 2 ids
    township_staff: dict[str, int] = field(default_factory=dict)  # 9-digit prefix -> id
    operators: dict[int, int] = field(default_factory=dict)  # facility id -> user id
    #: facility rows as dicts (id, kind, region code, county code, township code, name)
    facilities: list[dict] = field(default_factory=list)
    demo_facilities: dict[str, int] = field(default_factory=dict)  # demo key -> facility id
    residents: dict[int, int] = field(default_factory=dict)  # person index -> facility id
    counts: dict[str, int] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)  # seconds per stage
    zone: ZoneInfo = field(default_factory=local_zone)

    def rng(self, stage: str) -> random.Random:
        """A random stream per stage, seeded by the seed and the stage's name: what one
        stage draws does not shift the numbers the next ones draw."""
        return random.Random(f"{self.seed}:{stage}")

    def living(self, index: int, on: date | None = None) -> bool:
        died = self.people.death.get(index)
        return died is None or (on is not None and died >= on)

    def at(self, day: date, hour: float) -> datetime:
        """Local time of day ``hour`` (8.5 is 08:30) on ``day``, as aware UTC."""
        minutes = round(hour * 60)
        local = datetime.combine(day, clock(minutes // 60, minutes % 60), self.zone)
        return local.astimezone(UTC)

    def local_hour(self) -> float:
        now = self.now.astimezone(self.zone)
        return now.hour + now.minute / 60

    def count(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        before = dict(self.counts)
        yield
        elapsed = time.perf_counter() - started
        self.timings.append((name, elapsed))
        made = ", ".join(
            f"{table} {n - before.get(table, 0):,}"
            for table, n in self.counts.items()
            if n != before.get(table, 0)
        )
        self.log(f"{name:<11}{elapsed:7.1f} s  {made}")


class Weighted:
    """Draws one of ``items`` by ``weights`` as ``random.choices`` does (the same draw for
    the same random number), without its per-call set-up: called millions of times."""

    def __init__(self, items: Iterable, weights: Iterable[float]) -> None:
        self.items = list(items)
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


def apportion(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole numbers that add up to it
    (the largest remainders get the odd ones)."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    out = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: out[i] - exact[i])
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out


def days_between(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last``, both included."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
