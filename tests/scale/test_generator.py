"""The city-scale generator at a tiny scale, on a database of its own (committed, as the
command leaves it): valid ID numbers, the age pyramid, the scale's figures, rows that agree
with each other, the same data from the same seed, and the app working on the data."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.beds.models import Bed, Leave, Outage, Reservation, Stay
from eldercare.beds.operations import board
from eldercare.bookings.models import HOLDING_STATUSES, Booking, Slot
from eldercare.core import resident_id
from eldercare.core.db import local_date, utcnow
from eldercare.core.permissions import scope_clause
from eldercare.dashboard.overview import county_overview
from eldercare.daycare.models import Attendance, Member
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import FamilyLink, Person, id_number_index
from eldercare.public.operations import search_facilities, vacancies
from eldercare.regions.models import Region
from eldercare.scale import SCALES, Scale, ScaleError, load_scale
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
#: Both loads of the same seed run at the same moment (the data is as of a moment).
NOW = utcnow().replace(microsecond=0)


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
    }
    return {
        name: hashlib.sha256(repr(db.session.execute(query).all()).encode()).hexdigest()
        for name, query in tables.items()
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, worker_id):
    """The tiny scale, loaded once for the module and committed."""
    with committed_app(f"scale_{worker_id}", tmp_path_factory.mktemp("scale")) as app:
        with app.app_context():
            build = load_scale(TINY, SEED, now=NOW)
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
    due = due_list(user("visitor"), today, NOW)
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
    found = db.session.scalars(search_facilities({}, NOW)).all()
    assert found
    assert sum(v.total for v in vacancies(found, NOW)) == TINY.beds


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("county", "/dashboard/overview"),
        ("county", "/visits/coverage"),
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
                session["_user_id"] = account.get_id()
                session["_fresh"] = True
        path = path.format(facility=account.facility_id if account else "")
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)


def test_the_same_seed_gives_the_same_data(loaded, tmp_path_factory, worker_id):
    _, _, first = loaded
    again = committed_app(f"scale_again_{worker_id}", tmp_path_factory.mktemp("again"))
    with again as app, app.app_context():
        load_scale(TINY, SEED, now=NOW)
        assert digests() == first
        db.session.rollback()
        load_scale(TINY, SEED + 1, now=NOW)
        assert digests()["person"] != first["person"]
        db.session.rollback()


def test_it_refuses_a_database_with_people(ctx):
    with pytest.raises(ScaleError):
        load_scale(TINY, SEED, now=NOW)


def test_flask_demo_loads_a_scale_and_commits_it(tmp_path, worker_id, monkeypatch):
    monkeypatch.setitem(SCALES, "small", TINY)  # the command's wiring, at the tiny scale
    with committed_app(f"scale_cli_{worker_id}", tmp_path) as app:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["demo", "--scale", "small", "--seed", "3"])
        assert result.exit_code == 0, result.output
        assert "people " in result.output and "total " in result.output
        with app.app_context():
            assert count(Person) == TINY.people
            assert user("county") is not None
            db.session.rollback()
        again = runner.invoke(args=["demo", "--scale", "small"])
        assert again.exit_code != 0
        assert "empty" in again.output
