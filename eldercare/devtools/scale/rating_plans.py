"""The plan of the ratings the city-scale data holds: each county's rounds, which homes
apply in which round, and the scores that land each on the level aimed at (drawn, then rated
by the scoring engine). ``ratings`` writes what is planned here."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from eldercare.core.periods import notice_ends_on
from eldercare.devtools.scale.base import Weighted
from eldercare.ratings import scoring
from eldercare.ratings.models import (
    FACILITY_KINDS,
    VALID_YEARS,
    ApplicationStatus,
    Scheme,
    SchemeKind,
)
from eldercare.ratings.operations import explain

#: The kinds of facility rated: nursing homes and township homes (敬老院).
ELIGIBLE = FACILITY_KINDS[SchemeKind.NURSING_HOME]
#: Rounds kept per county: four years, so that the oldest grades have run out by now.
ROUNDS = 4
NOTICE_DAYS = 7
#: A home applies once it has run for half a year.
RUNNING_BEFORE = timedelta(days=182)
#: The star level a home is at when first rated (one to five stars), by kind: few five
#: stars, most two or three; township homes (public, small, rural) lower.
QUALITY = {
    "nursing_home": Weighted(range(1, 6), (8, 32, 38, 17, 5)),
    "township_home": Weighted(range(1, 6), (18, 45, 30, 7, 0)),
}
HIGHEST = {"nursing_home": 5, "township_home": 4}
#: Chances that a home applies: in the first round kept (the backlog of homes rated
#: before), in a later one while never rated (or long lapsed), in the year its grade runs out,
#: and early with a grade still in force (having improved).
FIRST_ROUND, LATER, RENEW, EARLY = 0.55, 0.4, 0.85, 0.05
#: A grade "runs out this round" when it ends within this long of the round's publication.
DUE = timedelta(days=90)
YEAR = timedelta(days=365)
#: Scores are drawn at most this many times to land on the level aimed at.
TRIES = 4
#: Chances that an application is withdrawn after the self-assessment, or gets no grade.
WITHDRAWN, NO_GRADE = 0.03, 0.06
WITHDRAW_REASONS = [
    "自评未达到申报等级，机构申请撤回",
    "机构正在改扩建，申请下一年度再参评",
    "负责人变更，材料需重新准备",
]
DEDUCTION_NOTES = [
    "台账记录不完整",
    "现场抽查发现问题，已要求整改",
    "制度未上墙公示",
    "培训记录缺少签到",
    "部分设施老化，需维修",
    "应急演练记录不全",
]


@dataclass
class RoundPlan:
    """A county's round of one year and its days: opened, the committee's sitting, the
    publication (the day after the notice) and the closing."""

    county: str
    year: int
    opened: date
    decided: date
    published: date
    closed: date
    id: int = 0

    @property
    def notice_until(self) -> date:
        return notice_ends_on(self.decided, NOTICE_DAYS)


@dataclass(frozen=True)
class ItemRow:
    id: int
    key: str  # "section/item", as the scoring engine names it
    max_points: int
    must_have: bool


@dataclass
class Marks:
    """One assessment's values by item id: points, or met / not met for a must-have."""

    values: dict[int, Decimal | bool]
    notes: dict[int, str] = field(default_factory=dict)


@dataclass
class Planned:
    """One application and everything that happened to it."""

    facility: dict
    round: RoundPlan
    status: str
    applied: date
    self_on: date
    self_marks: Marks
    assessed_on: tuple[date, ...] = ()
    assessor_marks: tuple[Marks, ...] = ()
    withdrawn_on: date | None = None
    withdraw_reason: str = ""
    level: int | None = None
    total: Decimal | None = None
    result: dict = field(default_factory=dict)
    id: int = 0

    @property
    def valid_from(self) -> date:
        return self.round.published

    @property
    def valid_until(self) -> date:
        return years_later(self.round.published, VALID_YEARS)


def years_later(day: date, years: int) -> date:
    """As ``ratings.operations._years_later``: 29 February becomes 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def plan_rounds(rng: random.Random, counties: list[str], today: date) -> list[RoundPlan]:
    """Each county's last ``ROUNDS`` rounds closed before today, oldest first."""
    out = []
    for county in counties:
        found: list[RoundPlan] = []
        year = today.year
        while len(found) < ROUNDS:
            opened = date(year, 3, 1) + timedelta(days=rng.randrange(45))
            decided = date(year, 9, 1) + timedelta(days=rng.randrange(40))
            published = notice_ends_on(decided, NOTICE_DAYS) + timedelta(days=1)
            closed = published + timedelta(days=rng.randint(7, 30))
            if closed < today:
                found.append(RoundPlan(county, year, opened, decided, published, closed))
            year -= 1
        out.extend(reversed(found))
    return out


class Scorer:
    """Item scores aimed at a star level, and the committee's result from them."""

    def __init__(self, scheme: Scheme) -> None:
        self.spec = scoring.spec_of(scheme)
        self.items = [
            ItemRow(i.id, f"{s.code}/{i.code}", i.max_points, i.must_have)
            for s in scheme.sections
            for i in s.items
        ]
        whole = sum(s.max_points for s in scheme.sections)
        #: Share of the points each level needs, from one star up, then all of them.
        self.bands = [t.min_total / whole for t in scheme.thresholds] + [1.0]

    def aim(self, rng: random.Random, level: int) -> float:
        """A share of the points that lands in ``level`` (0: below one star)."""
        if level == 0:
            return rng.uniform(self.bands[0] - 0.12, self.bands[0] - 0.03)
        low, high = self.bands[level - 1], self.bands[level]
        return rng.uniform(low + 0.02, min(high - 0.01, low + 0.06))

    @staticmethod
    def _half(item: ItemRow, share: float) -> Decimal:
        share = min(max(share, 0.0), 1.0)
        return Decimal(round(item.max_points * share * 2)) / 2

    def assess(
        self, rng: random.Random, level: int, failed_must_have: bool
    ) -> tuple[Marks, tuple[Marks, Marks]]:
        """The self-assessment (a little kinder) and two assessors' scores of every item."""
        share = self.aim(rng, level)
        failing = None
        if failed_must_have:
            failing = rng.choice([i.id for i in self.items if i.must_have])
        own, first, second = Marks({}), Marks({}), Marks({})
        for item in self.items:
            if item.must_have:
                own.values[item.id] = True
                first.values[item.id] = second.values[item.id] = item.id != failing
                if item.id == failing:
                    first.notes[item.id] = second.notes[item.id] = "现场核查不符合"
                continue
            base = share + rng.gauss(0, 0.06)
            own.values[item.id] = self._half(item, base + 0.03 + rng.gauss(0, 0.03))
            for marks in (first, second):
                given = base + rng.gauss(0, 0.03)
                marks.values[item.id] = self._half(item, given)
                if given < 0.7 and rng.random() < 0.5:
                    marks.notes[item.id] = rng.choice(DEDUCTION_NOTES)
        return own, (first, second)

    def rate(
        self, rng: random.Random, level: int, failed_must_have: bool
    ) -> tuple[Marks, tuple[Marks, Marks], scoring.Result]:
        """Scores aimed at ``level`` and the result the engine gives them: drawn again (a
        few times at most) while a section minimum keeps them a level lower than aimed."""
        wanted = None if level == 0 or failed_must_have else level
        for _ in range(TRIES):
            own, assessors = self.assess(rng, level, failed_must_have)
            result = self.decide(assessors)
            if result.level == wanted:
                break
        return own, assessors, result

    def decide(self, assessors: tuple[Marks, ...]) -> scoring.Result:
        """As ``ratings.operations.combined``: each item the assessors' mean rounded down to
        a half point, a must-have met only if every assessor found it met."""
        combined = {}
        for item in self.items:
            given = [m.values[item.id] for m in assessors]
            if item.must_have:
                combined[item.key] = all(v is True for v in given)
            else:
                mean = sum(given, Decimal(0)) / len(given)
                combined[item.key] = (mean * 2).to_integral_value(rounding=ROUND_FLOOR) / 2
        return scoring.score(self.spec, combined)


def plan_applications(
    rng: random.Random,
    rounds: list[RoundPlan],
    facilities: list[dict],
    scorer: Scorer,
    always: frozenset[int] = frozenset(),
) -> list[Planned]:
    """Who applied in each round and how it went, round after round (what a home does
    depends on the grades it holds). ``facilities`` are the eligible ones (dicts with id,
    kind, county and opened); those in ``always`` (the demo's own home) apply in the first
    round and again a year before their grade runs out, and always get one."""
    by_county: dict[str, list[dict]] = {}
    for facility in facilities:
        by_county.setdefault(facility["county"], []).append(facility)
    quality = {f["id"]: QUALITY[f["kind"]].pick(rng) for f in facilities}
    grades: dict[int, list[Planned]] = {}
    first_year = {}
    for rnd in rounds:
        first_year.setdefault(rnd.county, rnd.year)
    out: list[Planned] = []
    for rnd in rounds:
        for facility in by_county.get(rnd.county, []):
            fid = facility["id"]
            if facility["opened"].date() > rnd.opened - RUNNING_BEFORE:
                continue
            held = grades.get(fid, [])
            in_force = [g for g in held if g.valid_from <= rnd.published < g.valid_until]
            latest = max(held, key=lambda g: g.valid_from) if held else None
            certain = fid in always
            # A home in ``always`` renews a year early: it is never without a grade.
            due = rnd.published + DUE + (YEAR if certain else timedelta(0))
            if (
                latest is not None
                and latest.valid_until <= due
                and latest.valid_until > rnd.published - YEAR
            ):
                applies = certain or rng.random() < RENEW
                early = False
            elif in_force:
                applies = not certain and rng.random() < EARLY
                early = True
            else:
                first = rnd.year == first_year[rnd.county]
                applies = certain or rng.random() < (FIRST_ROUND if first else LATER)
                early = False
            if not applies:
                continue
            # The home improves now and then (it applies early because it has).
            level = quality[fid]
            if early or rng.random() < 0.12:
                level += 1
            elif rng.random() < 0.05:
                level -= 1
            level = quality[fid] = min(max(level, 1), HIGHEST[facility["kind"]])
            applied = rnd.opened + timedelta(days=rng.randint(3, 40))
            self_on = applied + timedelta(days=rng.randint(10, 35))
            fate = rng.random()
            if not certain and fate < WITHDRAWN:
                own, _ = scorer.assess(rng, level, False)
                out.append(
                    Planned(
                        facility,
                        rnd,
                        ApplicationStatus.WITHDRAWN.value,
                        applied,
                        self_on,
                        own,
                        withdrawn_on=self_on + timedelta(days=rng.randint(3, 20)),
                        withdraw_reason=rng.choice(WITHDRAW_REASONS),
                    )
                )
                continue
            failing = not certain and fate < WITHDRAWN + NO_GRADE
            must_have = failing and rng.random() < 0.5
            own, assessors, result = scorer.rate(
                rng, 0 if failing and not must_have else level, must_have
            )
            last = rnd.decided - timedelta(days=3)
            assessed_on = tuple(
                min(self_on + timedelta(days=rng.randint(15, 60)), last) for _ in assessors
            )
            planned = Planned(
                facility,
                rnd,
                (
                    ApplicationStatus.PUBLISHED.value
                    if result.level is not None
                    else ApplicationStatus.NO_GRADE.value
                ),
                applied,
                self_on,
                own,
                assessed_on,
                assessors,
                level=result.level,
                total=result.total,
                result=explain(result),
            )
            out.append(planned)
            if result.level is not None:
                grades.setdefault(fid, []).append(planned)
    return out
