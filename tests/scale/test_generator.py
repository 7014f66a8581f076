"""The city-scale generator at a tiny scale, on a database of its own (committed, as the
command leaves it): valid ID numbers, the age pyramid, the scale's figures, rows that agree
with each other, the same data from the same seed, and the app working on the data."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.auth.sessions import start as start_session
from eldercare.beds.models import Bed, Leave, Outage, Reservation, Stay
from eldercare.beds.operations import board
from eldercare.bookings.models import HOLDING_STATUSES, Booking, Slot
from eldercare.core import resident_id
from eldercare.core.db import local_date, utcnow
from eldercare.core.permissions import scope_clause
from eldercare.dashboard.overview import county_overview
from eldercare.daycare.models import Attendance, Member
from eldercare.devtools.cli import demo
from eldercare.devtools.scale import SCALES, Scale, ScaleError, load_scale
from eldercare.devtools.scale import rating_plans as scale_ratings
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import FamilyLink, Person, id_number_index
from eldercare.public.operations import search_facilities, vacancies
from eldercare.ratings import operations as rating_ops
from eldercare.ratings.grades import grades_on, in_force_on
from eldercare.ratings.models import (
    Application,
    Assessment,
    Grade,
    Round,
    Scheme,
    Score,
    rating_assessor,
)
from eldercare.regions.models import Region
from eldercare.subsidies.generation import eligible_people
from eldercare.subsidies.models import Batch, Enrolment, Payment, Program
from eldercare.visits.coverage import coverage
from eldercare.visits.models import CareAssignment, CareTarget, Visit, VisitPolicy
from eldercare.visits.operations import due_list
from tests.concurrency import committed_app

pytestmark = pytest.mark.no_transaction

TINY = Scale(
    name="tiny",
    people=3000,
    facilities=12,
    beds=240,
    targets=300,
    enrolments=600,
    daycare_members=60,
    family_users=40,
    bookings=120,
)
SEED = 7


def digests() -> dict[str, str]:
    """A digest per table of the columns the seed decides (not ciphertexts, which are
    random by design, nor the payments' ids, which the database numbers)."""
    tables = {
        "person": sa.select(
            Person.id,
            Person.name,
            Person.id_number_index,
            Person.birth_date,
            Person.sex,
            Person.region_id,
            Person.address,
            Person.economic_status,
            Person.lives_alone,
            Person.death_date,
        ).order_by(Person.id),
        "bed": sa.select(Bed.id, Bed.code, Bed.facility_id, Bed.care_type, Bed.status).order_by(
            Bed.id
        ),
        "stay": sa.select(
            Stay.bed_id, Stay.person_id, Stay.admitted_on, Stay.discharged_on
        ).order_by(Stay.id),
        "care_target": sa.select(
            CareTarget.person_id, CareTarget.computed_tier, CareTarget.next_due_on
        ).order_by(CareTarget.id),
        "visit": sa.select(Visit.target_id, Visit.visitor_id, Visit.visited_at).order_by(Visit.id),
        "subsidy_enrolment": sa.select(
            Enrolment.person_id, Enrolment.status, Enrolment.start_month, Enrolment.bank_name
        ).order_by(Enrolment.id),
        "subsidy_payment": sa.select(
            Payment.enrolment_id, Payment.period, Payment.kind, Payment.status, Payment.amount_fen
        ).order_by(Payment.enrolment_id, Payment.period, Payment.kind),
        "daycare_attendance": sa.select(
            Attendance.facility_id, Attendance.person_id, Attendance.day
        ).order_by(Attendance.id),
        "booking": sa.select(Booking.slot_id, Booking.person_id, Booking.status).order_by(
            Booking.id
        ),
        "user_account": sa.select(
            User.username, User.role, User.region_id, User.facility_id
        ).order_by(User.id),
        "rating_round": sa.select(
            Round.id, Round.region_id, Round.year, Round.name, Round.status, Round.closed_at
        ).order_by(Round.id),
        "rating_application": sa.select(
            Application.id,
            Application.round_id,
            Application.facility_id,
            Application.status,
            Application.level,
            Application.total,
            Application.result,
            Application.decided_at,
            Application.published_at,
            Application.withdrawn_at,
        ).order_by(Application.id),
        "rating_assessment": sa.select(
            Assessment.application_id, Assessment.kind, Assessment.by_id, Assessment.submitted_at
        ).order_by(Assessment.id),
        "rating_score": sa.select(
            Score.assessment_id, Score.item_id, Score.points, Score.met, Score.note
        ).order_by(Score.id),
        "rating_grade": sa.select(
            Grade.facility_id, Grade.level, Grade.valid_from, Grade.valid_until, Grade.total
        ).order_by(Grade.id),
    }
    return {
        name: hashlib.sha256(repr(db.session.execute(query).all()).encode()).hexdigest()
        for name, query in tables.items()
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, worker_id):
    """The tiny scale, loaded once for the module and committed, as of the moment the first
    test of the module runs (``build.now``; a second load of the seed runs at it too)."""
    now = utcnow().replace(microsecond=0)
    with committed_app(f"scale_{worker_id}", tmp_path_factory.mktemp("scale")) as app:
        with app.app_context():
            build = load_scale(TINY, SEED, now=now)
            db.session.commit()
            found = digests()
        yield app, build, found


@pytest.fixture
def ctx(loaded):
    app, build, _ = loaded
    with app.app_context():
        yield build
        db.session.rollback()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def user(name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


def test_every_id_number_is_valid_and_carries_the_birth_date_and_sex(ctx):
    people = db.session.scalars(sa.select(Person).order_by(Person.id)).all()
    codes = {r.id: r.code for r in db.session.scalars(sa.select(Region))}
    old_codes = 0
    for person in people:
        number = person.id_number  # decrypted by the column type
        parsed = resident_id.parse(number)
        assert (parsed.birth_date, parsed.sex) == (person.birth_date, person.sex)
        assert person.id_number_index == id_number_index(number)
        assert person.id_number_masked == resident_id.mask(number)
        county = codes[person.region_id][:6]
        assert parsed.area_code == county or (county, parsed.area_code) == ("610305", "610322")
        old_codes += parsed.area_code == "610322"
    assert len({p.id_number_index for p in people}) == len(people)
    assert old_codes > 0  # 凤翔区 people with the old 凤翔县 code


def test_the_age_pyramid_narrows_with_age(ctx):
    today = ctx.today
    ages = [
        resident_id.age_on(born, today) for born in db.session.scalars(sa.select(Person.birth_date))
    ]
    assert min(ages) >= 60
    sixties = sum(a < 70 for a in ages) / len(ages)
    seventies = sum(70 <= a < 80 for a in ages) / len(ages)
    eighties = sum(80 <= a < 90 for a in ages) / len(ages)
    oldest = sum(a >= 90 for a in ages) / len(ages)
    assert sixties > seventies > eighties + oldest
    assert sixties == pytest.approx(0.55, abs=0.04)
    assert seventies == pytest.approx(0.30, abs=0.04)
    assert eighties == pytest.approx(0.13, abs=0.03)
    assert oldest == pytest.approx(0.02, abs=0.015)
    women_80 = db.session.scalar(
        sa.select(sa.func.avg(sa.case((Person.sex == "F", 1.0), else_=0.0))).where(
            Person.birth_date <= resident_id.years_before(today, 80)
        )
    )
    assert women_80 > 0.5
    deceased = count(sa.select(Person.id).where(Person.death_date.is_not(None)).subquery())
    assert 0.01 < deceased / TINY.people < 0.06


def test_the_tables_hold_the_scale_figures(ctx):
    assert count(Person) == TINY.people
    assert count(Facility) == TINY.facilities
    assert count(Bed) == TINY.beds
    assert count(CareTarget) == count(CareAssignment) == TINY.targets
    assert count(Enrolment) == TINY.enrolments
    assert count(FamilyLink) == TINY.family_users
    assert count(Booking) == TINY.bookings
    assert count(Member) == TINY.daycare_members
    assert ctx.counts["person"] == TINY.people
    kinds = dict(
        db.session.execute(sa.select(Facility.kind, sa.func.count()).group_by(Facility.kind)).all()
    )
    assert set(kinds) == {
        "nursing_home",
        "township_home",
        "day_care",
        "happiness_home",
        "community_station",
        "home_care_provider",
    }
    for name in (
        "admin",
        "county",
        "county2",
        "checker",
        "township",
        "visitor",
        "operator",
        "daycare",
        "family",
        "assessor",
    ):
        assert user(name) is not None, name


def test_beds_agree_with_their_stays_reservations_and_outages(ctx):
    today = ctx.today
    statuses = dict(
        db.session.execute(sa.select(Bed.status, sa.func.count()).group_by(Bed.status)).all()
    )
    open_stays = sa.select(Stay.bed_id).where(Stay.discharged_on.is_(None))
    on_leave = (
        sa.select(Stay.bed_id).join(Leave, Leave.stay_id == Stay.id).where(Leave.end_on.is_(None))
    )
    assert statuses.get("occupied", 0) + statuses.get("held", 0) == count(open_stays.subquery())
    assert statuses.get("held", 0) == count(on_leave.subquery())
    assert statuses.get("reserved", 0) == count(
        sa.select(Reservation.id).where(Reservation.ended_at.is_(None)).subquery()
    )
    assert statuses.get("out_of_service", 0) == count(
        sa.select(Outage.id).where(Outage.end_on.is_(None)).subquery()
    )
    nursing = count(sa.select(Bed.id).where(Bed.care_type == "nursing").subquery())
    assert 0.45 < nursing / TINY.beds < 0.65
    assert 0.5 < count(open_stays.subquery()) / TINY.beds < 0.8
    # Residents are alive, admitted in the past, each in one bed.
    residents = db.session.execute(
        sa.select(Stay.admitted_on, Person.death_date, Person.birth_date)
        .join(Person, Person.id == Stay.person_id)
        .where(Stay.discharged_on.is_(None))
    ).all()
    assert all(d is None and a <= today and resident_id.age_on(b, a) >= 60 for a, d, b in residents)
    assert not db.session.execute(
        sa.select(Bed.id).where(Bed.status == "occupied", ~Bed.id.in_(open_stays))
    ).first()


def test_visit_plans_agree_with_their_visits(ctx):
    today = ctx.today
    policy = VisitPolicy.defaults()
    last = dict(
        db.session.execute(
            sa.select(Visit.target_id, sa.func.max(Visit.visited_at)).group_by(Visit.target_id)
        ).all()
    )
    targets = db.session.scalars(sa.select(CareTarget)).all()
    overdue = 0
    for target in targets:
        assert target.last_visit_at == last[target.id]
        assert target.next_due_on == local_date(target.last_visit_at) + timedelta(
            days=policy.interval_days(target.tier)
        )
        assert target.person.death_date is None
        overdue += target.next_due_on < today
    assert 0.04 < overdue / len(targets) < 0.2
    visits = count(Visit)
    assert visits > 4 * len(targets)  # a year at monthly to weekly intervals, quarterly at least
    # The demo visitor has visits due.
    due = due_list(user("visitor"), today, ctx.now)
    assert due.overdue and due.due


def test_payments_follow_the_rules_and_batches_the_four_eyes(ctx):
    batches = db.session.scalars(sa.select(Batch)).all()
    programs = db.session.scalars(sa.select(Program)).all()
    assert len(batches) == 12 * len(programs)
    for batch in batches:
        if batch.status != "draft":
            assert batch.approved_by_id not in (None, batch.made_by_id)
            paid = db.session.execute(
                sa.select(sa.func.count(), sa.func.sum(Payment.amount_fen)).where(
                    Payment.batch_id == batch.id
                )
            ).one()
            assert (batch.payment_count, batch.total_fen) == (paid[0], paid[1] or 0)
    # Each regular payment is what the app's own rules owe for its period.
    latest = max(b.period for b in batches)
    for program in programs:
        owed = dict(
            (row.enrolment_id, row.amount_fen)
            for row in db.session.execute(
                eligible_people(program, latest, program.table_for(latest))
            )
        )
        paid = dict(
            db.session.execute(
                sa.select(Payment.enrolment_id, Payment.amount_fen).where(
                    Payment.program_id == program.id,
                    Payment.period == latest,
                    Payment.kind == "regular",
                )
            ).all()
        )
        assert paid == owed
    statuses = dict(
        db.session.execute(
            sa.select(Payment.status, sa.func.count()).group_by(Payment.status)
        ).all()
    )
    assert statuses.get("failed", 0) < 0.01 * sum(statuses.values())
    reissued = count(sa.select(Payment.id).where(Payment.kind == "reissue").subquery())
    unresolved = count(
        sa.select(Payment.id)
        .where(Payment.status == "failed", Payment.resolution.is_(None))
        .subquery()
    )
    assert reissued + unresolved == statuses.get("failed", 0)


def test_slots_count_the_bookings_holding_a_place(ctx):
    held = (
        sa.select(sa.func.count())
        .where(Booking.slot_id == Slot.id, Booking.status.in_(HOLDING_STATUSES))
        .scalar_subquery()
    )
    assert not db.session.execute(sa.select(Slot.id).where(Slot.booked != held)).first()
    assert not db.session.execute(sa.select(Slot.id).where(Slot.booked > Slot.capacity)).first()
    # Every booking is for a relative the booker is verified for.
    unlinked = sa.select(Booking.id).where(
        ~sa.exists().where(
            FamilyLink.user_id == Booking.user_id,
            FamilyLink.person_id == Booking.person_id,
            FamilyLink.status == "verified",
        )
    )
    assert not db.session.execute(unlinked).first()


def test_the_app_works_on_the_data(ctx):
    today = ctx.today
    month = today.replace(day=1)
    county = user("county")
    region = county.region
    cover = coverage(region, month, scope_clause(CareTarget, county))
    assert cover.total.targets > 0
    assert 0 < cover.total.overdue < cover.total.targets
    overview = county_overview(region, month, today, idle_days=14, user=county)
    occupancy = overview.indicator("occupancy").value
    assert occupancy is not None and 0.3 < occupancy < 0.9
    operator = user("operator")
    floors = board(operator.facility, operator)
    assert sum(len(beds) for _, rooms in floors for _, beds in rooms) > 0
    rated = overview.indicator("rated_share").value
    assert rated is not None and 0 < rated < 1
    found = db.session.scalars(search_facilities({}, ctx.now)).all()
    assert found
    starred = db.session.scalars(search_facilities({"min_star": 1}, ctx.now)).all()
    assert 0 < len(starred) < len(found)
    assert sum(v.total for v in vacancies(found, ctx.now)) == TINY.beds


HOMES = scale_ratings.ELIGIBLE


def test_most_homes_are_rated_and_no_other_kind_is(ctx):
    kinds = dict(db.session.execute(sa.select(Facility.id, Facility.kind)).all())
    homes = sorted(fid for fid, kind in kinds.items() if kind in HOMES)
    applied = set(db.session.scalars(sa.select(Application.facility_id)))
    graded = set(db.session.scalars(sa.select(Grade.facility_id)))
    assert {kinds[f] for f in applied} <= set(HOMES)
    assert graded <= applied
    assert len(graded) >= 0.6 * len(homes)
    in_force = grades_on(homes, ctx.today)
    assert len(in_force) >= 0.5 * len(homes)
    assert ctx.demo_facilities["welfare"] in in_force  # the demo operator's own home
    # Rounds: every county with homes, one a year, closed, with the shipped scheme (frozen).
    rounds = db.session.scalars(sa.select(Round)).all()
    counties = {
        code[:6]
        for code in db.session.scalars(
            sa.select(Region.code)
            .join(Facility, Facility.region_id == Region.id)
            .where(Facility.kind.in_(HOMES))
        )
    }
    assert {r.region.code[:6] for r in rounds} == counties
    assert len(rounds) == scale_ratings.ROUNDS * len(counties)
    assert len({(r.region_id, r.year) for r in rounds}) == len(rounds)
    assert all(r.status == "closed" and r.closed_at <= ctx.now for r in rounds)
    scheme = db.session.get(Scheme, rounds[0].scheme_id)
    assert scheme.region_id is None and scheme.kind == "nursing_home" and scheme.is_frozen


def test_grades_follow_their_rounds_and_one_at_most_is_in_force(ctx):
    today = ctx.today
    grades = db.session.scalars(sa.select(Grade)).all()
    published = {
        (a.round_id, a.facility_id): a
        for a in db.session.scalars(sa.select(Application).where(Application.status == "published"))
    }
    assert grades and len(published) == len(grades)
    for grade in grades:
        application = published[(grade.round_id, grade.facility_id)]
        assert (grade.level, grade.total) == (application.level, application.total)
        assert application.notice_until < grade.valid_from == local_date(application.published_at)
        assert grade.valid_until == scale_ratings.years_later(grade.valid_from, 3)
        assert grade.round.year == grade.valid_from.year
        assert grade.round.closed_at > application.published_at
        assert grade.valid_from <= today
    ids = sorted({g.facility_id for g in grades})
    days = {g.valid_from for g in grades} | {g.valid_until for g in grades}
    days |= {g.valid_until - timedelta(days=1) for g in grades}
    day = min(days)
    while day <= today:
        days.add(day)
        day += timedelta(days=30)
    for day in sorted(d for d in days if d <= today):
        several = db.session.execute(
            sa.select(Grade.facility_id)
            .where(in_force_on(day))
            .group_by(Grade.facility_id)
            .having(sa.func.count() > 1)
        ).all()
        assert not several, day
        expected = {}
        for grade in sorted(grades, key=lambda g: (g.valid_from, g.id)):
            if grade.valid_from <= day < grade.valid_until:
                expected[grade.facility_id] = grade.id  # the newest wins
        assert {f: g.id for f, g in grades_on(ids, day).items()} == expected, day


def test_each_decision_is_what_the_assessors_scores_give(ctx):
    items = db.session.scalar(sa.select(sa.func.count(Score.item_id.distinct())))
    applications = db.session.scalars(sa.select(Application).order_by(Application.id)).all()
    statuses = {a.status for a in applications}
    assert statuses <= {"published", "no_grade", "withdrawn"}
    for application in applications:
        assessments = db.session.scalars(
            sa.select(Assessment).where(Assessment.application_id == application.id)
        ).all()
        own = [a for a in assessments if a.kind == "self"]
        assert len(own) == 1 and own[0].by.facility_id == application.facility_id
        assert all(len(a.scores) == items and a.submitted_at is not None for a in assessments)
        county = application.round.region
        if application.status == "withdrawn":
            assert len(assessments) == 1 and not application.assessors
            assert application.withdrawn_at > own[0].submitted_at
            assert application.level is None and application.decided_at is None
            continue
        appointed = {u.id for u in application.assessors}
        assert appointed == {a.by_id for a in assessments if a.kind == "assessor"}
        assert len(appointed) == 2
        assert all(
            u.role == "assessor" and county.contains(u.region) for u in application.assessors
        )
        assert application.decided_by_id not in appointed
        assert all(a.submitted_at < application.decided_at for a in assessments)
        result = rating_ops.combined(application)
        assert (result.level, result.total) == (application.level, application.total)
        assert application.result == rating_ops.explain(result)
        assert (application.status == "published") == (result.level is not None)
    pairs = db.session.execute(sa.select(rating_assessor.c.application_id)).all()
    assert len(pairs) == 2 * sum(a.status != "withdrawn" for a in applications)


def test_a_city_of_homes_gets_a_realistic_rating_history():
    """The planning alone, on 600 homes in twelve counties: most rated, few five stars,
    re-rated homes whose newer grade supersedes the older, grades that ran out."""
    with open(f"{rating_ops.SHIPPED_DIR}/nursing_home.json", encoding="utf-8") as handle:
        scheme = rating_ops.scheme_from_json(json.load(handle))
    for n, item in enumerate(i for s in scheme.sections for i in s.items):
        item.id = n + 1
    scorer = scale_ratings.Scorer(scheme)
    rng = random.Random(SEED)
    today = date(2026, 12, 1)
    counties = [f"6103{n:02d}" for n in range(12)]
    homes = [
        {
            "id": n,
            "kind": HOMES[n % 2],
            "county": counties[n % 12],
            "opened": datetime(2024, 12, 1, tzinfo=UTC) - timedelta(days=rng.randrange(3650)),
        }
        for n in range(600)
    ]
    rounds = scale_ratings.plan_rounds(rng, counties, today)
    assert len(rounds) == 12 * scale_ratings.ROUNDS
    assert all(r.closed < today for r in rounds)
    planned = scale_ratings.plan_applications(rng, rounds, homes, scorer)
    assert len({(p.round.county, p.round.year, p.facility["id"]) for p in planned}) == len(planned)
    statuses = Counter(p.status for p in planned)
    assert statuses["withdrawn"] and statuses["no_grade"]
    assert statuses["published"] > 0.8 * len(planned)
    grades = [p for p in planned if p.status == "published"]
    newest = {}
    for grade in sorted(grades, key=lambda g: g.valid_from):
        if grade.valid_from <= today < grade.valid_until:
            newest[grade.facility["id"]] = grade
    assert 0.6 <= len(newest) / len(homes) <= 0.8
    levels = Counter(g.level for g in newest.values())
    assert levels[5] == min(levels.values()) and levels[5] < 0.1 * len(newest)
    assert levels[2] + levels[3] > 0.5 * len(newest)
    assert not any(g.level == 5 for g in newest.values() if g.facility["kind"] == "township_home")
    superseded = [
        (old, new)
        for old in grades
        for new in grades
        if old.facility is new.facility and old.valid_from < new.valid_from < old.valid_until
    ]
    assert len(superseded) > 0.1 * len(newest)
    ran_out = {g.facility["id"] for g in grades} - set(newest)
    assert len(ran_out) > 0.03 * len(homes)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("county", "/dashboard/overview"),
        ("county", "/visits/coverage"),
        ("county", "/ratings/overview"),
        ("county", "/ratings/rounds"),
        ("assessor", "/ratings/mine"),
        ("township", "/visits/targets"),
        ("visitor", "/visits/"),
        ("operator", "/facilities/{facility}/beds"),
        ("family", "/"),
        (None, "/public/facilities"),
    ],
)
def test_pages_open(loaded, name, path):
    app, _, _ = loaded
    client = app.test_client()
    with app.app_context():
        account = user(name) if name else None
        if account is not None:
            with client.session_transaction() as session:
                session["_user_id"] = start_session(account)
                session["_fresh"] = True
            db.session.commit()
        path = path.format(facility=account.facility_id if account else "")
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)


def test_the_same_seed_gives_the_same_data(loaded, tmp_path_factory, worker_id):
    _, build, first = loaded  # both loads of the seed run at the same moment
    again = committed_app(f"scale_again_{worker_id}", tmp_path_factory.mktemp("again"))
    with again as app, app.app_context():
        load_scale(TINY, SEED, now=build.now)
        assert digests() == first
        db.session.rollback()
        load_scale(TINY, SEED + 1, now=build.now)
        other = digests()
        assert other["person"] != first["person"]
        assert other["rating_grade"] != first["rating_grade"]
        db.session.rollback()


def test_it_refuses_a_database_with_people(ctx):
    with pytest.raises(ScaleError):
        load_scale(TINY, SEED, now=ctx.now)


def test_flask_demo_loads_a_scale_and_commits_it(tmp_path, worker_id, monkeypatch):
    monkeypatch.setitem(SCALES, "small", TINY)  # the command's wiring, at the tiny scale
    with committed_app(f"scale_cli_{worker_id}", tmp_path) as app:
        runner = app.test_cli_runner()
        result = runner.invoke(demo, args=["--scale", "small", "--seed", "3"])
        assert result.exit_code == 0, result.output
        assert "people " in result.output and "total " in result.output
        with app.app_context():
            assert count(Person) == TINY.people
            assert user("county") is not None
            db.session.rollback()
        again = runner.invoke(demo, args=["--scale", "small"])
        assert again.exit_code != 0
        assert "empty" in again.output
