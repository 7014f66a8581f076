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
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from eldercare.devtools.demo.data import SURNAMES
from eldercare.devtools.scale.base import Build
from eldercare.devtools.scale.rating_plans import (
    ELIGIBLE,
    NOTICE_DAYS,
    Marks,
    Scorer,
    plan_applications,
    plan_rounds,
)
from eldercare.devtools.scale.users import Accounts
from eldercare.extensions import db
from eldercare.ratings.models import (
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
from eldercare.ratings.operations import load_shipped_schemes

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
