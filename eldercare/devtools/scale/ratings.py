"""Star ratings (养老机构等级评定) of the homes: a round a year in every county that has
homes, for the last four years whose round is over (published and closed), each with the
shipped nursing-home scheme. The homes apply as they do in life: about half in the first
round, later the rest bit by bit, again in the round of the year their grade runs out (most
of them; some let it lapse), and now and then early, having improved (the newer grade
supersedes the older). Each application has its whole trail: the operator's
self-assessment, two appointed external assessors' scores of every item, the committee's
decision (the assessors' combined scores rated by the scoring engine, as
``ratings.operations.decide`` does), the public notice, and the grade published the day after
it, valid three years. A few are withdrawn after the self-assessment, a few get no grade.

Only nursing homes and township homes are rated (the kinds of the nursing-home scheme);
objections, evidence files and audit entries are not generated."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.core.periods import notice_ends_on
from eldercare.demo import SURNAMES
from eldercare.extensions import db
from eldercare.ratings import scoring
from eldercare.ratings.models import (
    FACILITY_KINDS,
    VALID_YEARS,
    Application,
    ApplicationStatus,
    Assessment,
    AssessmentKind,
    Grade,
    Round,
    RoundStatus,
    Scheme,
    SchemeKind,
    Score,
    Section,
    rating_assessor,
)
from eldercare.ratings.operations import explain, load_shipped_schemes
from eldercare.scale.base import Build, Weighted
from eldercare.scale.users import Accounts

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
ROUND_COLUMNS = (
    "id",
    "region_id",
    "year",
    "name",
    "scheme_id",
    "notice_days",
    "status",
    "opened_by_id",
    "closed_at",
    "closed_by_id",
    "created_at",
    "updated_at",
    "issuing_office",
    "supervision_phone",
)
APPLICATION_COLUMNS = (
    "id",
    "round_id",
    "facility_id",
    "status",
    "level",
    "total",
    "result",
    "decided_by_id",
    "decided_at",
    "notice_until",
    "published_at",
    "return_note",
    "withdrawn_at",
    "withdrawn_by_id",
    "withdraw_reason",
    "created_at",
    "updated_at",
)
ASSESSMENT_COLUMNS = (
    "id",
    "application_id",
    "kind",
    "by_id",
    "submitted_at",
    "created_at",
    "updated_at",
)
SCORE_COLUMNS = ("id", "assessment_id", "item_id", "points", "met", "note")
GRADE_COLUMNS = (
    "id",
    "facility_id",
    "level",
    "valid_from",
    "valid_until",
    "round_id",
    "scheme_id",
    "total",
)


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


def _scheme() -> Scheme:
    """The shipped nursing-home scheme (its latest version), loaded if it is not yet."""
    load_shipped_schemes()
    return db.session.scalar(
        sa.select(Scheme)
        .where(Scheme.region_id.is_(None), Scheme.kind == SchemeKind.NURSING_HOME.value)
        .order_by(Scheme.version.desc(), Scheme.id.desc())
        .options(selectinload(Scheme.sections).selectinload(Section.items))
        .limit(1)
    )


def _assessors(build: Build, counties: list[str], rng: random.Random) -> dict[str, list[int]]:
    """Two external assessors per county (a third-party assessment centre's): the demo's own
    assessor of 渭滨区 is one of them."""
    demo = build.users.get("assessor")
    accounts = Accounts(build, 2 * len(counties) - (demo is not None and "610302" in counties))
    out = {}
    for county in counties:
        code = county + "000000"
        ids = [demo] if demo is not None and county == "610302" else []
        while len(ids) < 2:
            ids.append(
                accounts.add(
                    f"assessor-{county}-{len(ids) + 1}",
                    f"宝鸡市养老服务评估中心 {rng.choice(SURNAMES)}评估师",
                    "assessor",
                    region_code=code,
                )
            )
        out[county] = ids
    accounts.write()
    return out


def load_ratings(build: Build) -> None:
    rng = build.rng("ratings")
    loader = build.loader
    eligible = [f for f in build.facilities if f["kind"] in ELIGIBLE]
    counties = sorted({f["county"] for f in eligible})
    if not counties:
        return
    scheme = _scheme()
    scorer = Scorer(scheme)
    rounds = plan_rounds(rng, counties, build.today)
    always = frozenset(v for k, v in build.demo_facilities.items() if k == "welfare")
    planned = plan_applications(rng, rounds, eligible, scorer, always)
    assessors = _assessors(build, counties, rng)

    first = loader.ids(Round.__table__, len(rounds))
    round_rows = []
    for n, rnd in enumerate(rounds):
        rnd.id = first + n
        officer = build.county_staff[rnd.county][0]
        county = build.regions[rnd.county + "000000"]
        closed = build.at(rnd.closed, 16)
        round_rows.append(
            (
                rnd.id,
                county.id,
                rnd.year,
                f"{rnd.year}年度{county.name}养老机构等级评定",
                scheme.id,
                NOTICE_DAYS,
                RoundStatus.CLOSED.value,
                officer,
                closed,
                officer,
                build.at(rnd.opened, 9.5),
                closed,
                f"{county.name}民政局",
                "0917-12345",
            )
        )
    if scheme.frozen_at is None:  # a round uses it: frozen from the first one on
        scheme.frozen_at = min(row[10] for row in round_rows)
    build.count("rating_round", loader.write(Round.__table__, ROUND_COLUMNS, round_rows))

    first = loader.ids(Application.__table__, len(planned))
    applications, appointed, grades = [], [], []
    for n, p in enumerate(planned):
        p.id = first + n
        rnd = p.round
        created = build.at(p.applied, rng.uniform(9, 17))
        decided_by = decided_at = notice_until = published_at = withdrawn_at = None
        withdrawn_by = None
        if p.status == ApplicationStatus.WITHDRAWN.value:
            withdrawn_at = build.at(p.withdrawn_on, rng.uniform(9, 17))
            withdrawn_by = build.operators[p.facility["id"]]
            updated = withdrawn_at
        else:
            decided_by = build.county_staff[rnd.county][0]
            decided_at = updated = build.at(rnd.decided, 15)
            appointed.extend((p.id, user) for user in assessors[rnd.county])
        if p.status == ApplicationStatus.PUBLISHED.value:
            notice_until = rnd.notice_until
            published_at = updated = build.at(rnd.published, 9)
            grades.append(
                (
                    p.facility["id"],
                    p.level,
                    p.valid_from,
                    p.valid_until,
                    rnd.id,
                    scheme.id,
                    p.total,
                )
            )
        applications.append(
            (
                p.id,
                rnd.id,
                p.facility["id"],
                p.status,
                p.level,
                p.total,
                p.result,
                decided_by,
                decided_at,
                notice_until,
                published_at,
                "",
                withdrawn_at,
                withdrawn_by,
                p.withdraw_reason,
                created,
                updated,
            )
        )
    build.count(
        "rating_application",
        loader.write(Application.__table__, APPLICATION_COLUMNS, applications),
    )
    build.count(
        "rating_assessor",
        loader.write(rating_assessor, ("application_id", "user_id"), appointed),
    )

    assessments: list[tuple] = []
    marked: list[tuple[int, Marks]] = []
    first = loader.ids(Assessment.__table__, 0)
    for p in planned:
        operator = build.operators[p.facility["id"]]
        submitted = build.at(p.self_on, rng.uniform(9, 17))
        started = build.at(p.applied + timedelta(days=1), 10)
        rows = [(AssessmentKind.SELF.value, operator, started, submitted, p.self_marks)]
        for user, day, marks in zip(
            assessors[p.round.county], p.assessed_on, p.assessor_marks, strict=False
        ):
            started = build.at(p.self_on + timedelta(days=rng.randint(1, 7)), 9)
            done = build.at(day, rng.uniform(9, 17))
            rows.append((AssessmentKind.ASSESSOR.value, user, min(started, done), done, marks))
        for kind, by, started, done, marks in rows:
            assessment_id = first + len(assessments)
            assessments.append((assessment_id, p.id, kind, by, done, started, done))
            marked.append((assessment_id, marks))
    loader.ids(Assessment.__table__, len(assessments))
    build.count(
        "rating_assessment",
        loader.write(Assessment.__table__, ASSESSMENT_COLUMNS, assessments),
    )
    items = scorer.items
    first = loader.ids(Score.__table__, len(marked) * len(items))

    def scores():
        n = first
        for assessment_id, marks in marked:
            for item in items:
                value = marks.values[item.id]
                yield (
                    n,
                    assessment_id,
                    item.id,
                    None if item.must_have else value,
                    value if item.must_have else None,
                    marks.notes.get(item.id, ""),
                )
                n += 1

    build.count("rating_score", loader.write(Score.__table__, SCORE_COLUMNS, scores()))
    first = loader.ids(Grade.__table__, len(grades))
    build.count(
        "rating_grade",
        loader.write(
            Grade.__table__,
            GRADE_COLUMNS,
            [(first + n, *row) for n, row in enumerate(grades)],
        ),
    )
    loader.analyze("rating_grade", "rating_application", "rating_round")
