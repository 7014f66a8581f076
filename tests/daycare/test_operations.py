"""Day-care operations: one tap per check-in, out and meal, with the rules a front desk
needs (walk-ins, closed days, once a day) held by the code and the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.daycare import operations as ops
from eldercare.daycare.models import Attendance, ClosedDay, Incident, Meal, Member
from eldercare.extensions import db
from tests.builders import build_person
from tests.daycare.helpers import make_center, make_member
from tests.visits.helpers import admin


@pytest.fixture
def center(world):
    return make_center(world.facility_a)


def test_member_check_in_out_and_a_walk_in(world, center):
    today = local_today()
    operator = world.user("operator")
    member = make_member(center)
    stranger = build_person(world.village_a)
    came = ops.check_in(center, member.person, today, operator)
    walked_in = ops.check_in(center, stranger, today, operator)
    assert not came.walk_in and walked_in.walk_in
    ops.check_out(came, operator)
    assert came.check_out_at >= came.check_in_at
    with pytest.raises(Conflict):
        ops.check_out(came, operator)
    with pytest.raises(Conflict):
        ops.check_in(center, member.person, today, operator)


def test_the_database_holds_one_attendance_a_day(center):
    today = local_today()
    member = make_member(center)
    ops.check_in(center, member.person, today, admin())
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(
            Attendance(
                facility_id=center.id,
                person_id=member.person_id,
                day=today,
                check_in_at=datetime.now(UTC),
            )
        )
        db.session.flush()


def test_no_check_in_on_a_closed_day_or_in_the_future(center):
    today = local_today()
    member = make_member(center)
    db.session.add(ClosedDay(facility_id=center.id, day=today - timedelta(days=1), reason="检修"))
    db.session.flush()
    with pytest.raises(Conflict):
        ops.check_in(center, member.person, today - timedelta(days=1), admin())
    with pytest.raises(Invalid):
        ops.check_in(center, member.person, today + timedelta(days=1), admin())
    with pytest.raises(Conflict):
        ops.add_closed_day(center, today - timedelta(days=1), "again", admin())


def test_a_day_with_attendance_cannot_be_closed(center):
    today = local_today()
    ops.check_in(center, make_member(center).person, today, admin())
    with pytest.raises(Conflict):
        ops.add_closed_day(center, today, "停电", admin())


def test_meals_follow_the_members_subsidy_and_the_centers_price(center):
    today = local_today()
    poor = make_member(center, subsidised_meals=True)
    other = make_member(center)
    lunch = ops.serve_meal(center, poor.person, today, "lunch", admin())
    plain = ops.serve_meal(center, other.person, today, "lunch", admin())
    assert lunch.subsidised and not plain.subsidised and lunch.price_fen == 1000
    with pytest.raises(Conflict):
        ops.serve_meal(center, poor.person, today, "lunch", admin())
    with pytest.raises(Invalid):
        ops.serve_meal(center, poor.person, today, "breakfast", admin())  # not served here


def test_undoing_a_check_in_takes_its_meals_along(center):
    today = local_today()
    member = make_member(center)
    attendance = ops.check_in(center, member.person, today, admin())
    ops.serve_meal(center, member.person, today, "lunch", admin())
    ops.cancel_attendance(attendance, admin())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meal)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 0


def test_membership_once_at_a_time(center):
    today = local_today()
    member = make_member(center)
    with pytest.raises(Conflict):
        make_member(center, member.person)
    ops.end_membership(member, today, admin())
    again = make_member(center, member.person, joined=today)
    assert again.id != member.id
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(Member(facility_id=center.id, person_id=member.person_id, joined_on=today))
        db.session.flush()


def test_roster_lists_who_is_expected_and_who_came(world, center):
    today = local_today()
    monday = today - timedelta(days=today.weekday())
    if monday == today:
        monday -= timedelta(days=7)
    regular = make_member(center, days=[0], joined=monday - timedelta(days=7))
    tuesdays = make_member(center, days=[1], joined=monday - timedelta(days=7))
    left = make_member(center, days=[0], joined=monday - timedelta(days=30))
    ops.end_membership(left, monday - timedelta(days=1), admin())
    ops.check_in(center, tuesdays.person, monday, admin())  # came on another day
    roster = ops.roster(center, monday)
    rows = {row.person.id: row for row in roster.rows}
    assert set(rows) == {regular.person_id, tuesdays.person_id}
    assert rows[regular.person_id].expected and rows[regular.person_id].attendance is None
    assert not rows[tuesdays.person_id].expected and rows[tuesdays.person_id].attendance
    assert roster.present == 1 and roster.is_open


def test_the_roster_says_when_the_center_is_closed(world):
    today = local_today()
    weekdays_only = make_center(world.facility_a, open_days=[0, 1, 2, 3, 4])
    saturday = today - timedelta(days=(today.weekday() - 5) % 7)
    assert not ops.roster(weekdays_only, saturday).is_open


def test_only_the_centers_operator_acts(world, center):
    today = local_today()
    from tests.builders import build_user

    member = make_member(center)
    other_operator = build_user("operator", facility=world.facility_b)
    for user in [world.user(r) for r in ("county_staff", "township_staff", "visitor")] + [
        other_operator
    ]:
        with pytest.raises(AppError) as refused:
            ops.check_in(center, member.person, today, user)
        assert refused.value.code == 403


def test_a_back_dated_meal_is_subsidised_as_that_days_membership_was(center):
    today = local_today()
    member = make_member(center, subsidised_meals=True, joined=today - timedelta(days=20))
    ops.end_membership(member, today - timedelta(days=10), admin())
    ops.check_in(center, member.person, today - timedelta(days=12), admin())
    meal = ops.serve_meal(center, member.person, today - timedelta(days=12), "lunch", admin())
    assert meal.subsidised  # a member then, with subsidised meals
    walk_in = ops.serve_meal(center, member.person, today - timedelta(days=5), "lunch", admin())
    assert not walk_in.subsidised  # no longer a member


def test_history_beyond_the_window_stays_as_it_was(center):
    today = local_today()
    member = make_member(center, joined=today - timedelta(days=200))
    with pytest.raises(Conflict):
        ops.check_in(center, member.person, today - timedelta(days=63), admin())


def test_a_day_the_center_does_not_open_is_refused(world):
    today = local_today()
    weekdays = make_center(world.facility_a, open_days=[0, 1, 2, 3, 4])
    member = make_member(weekdays)
    sunday = today - timedelta(days=(today.weekday() + 1) % 7)
    with pytest.raises(Conflict):
        ops.check_in(weekdays, member.person, sunday, admin())


def test_activity_and_incident_with_health_data_encrypted(world, center):
    member = make_member(center, dietary_notes="糖尿病，少糖")
    start = datetime.now(UTC) - timedelta(hours=2)
    activity = ops.add_activity(
        center,
        {
            "title": "健康讲座",
            "category": "health",
            "starts_at": start,
            "ends_at": start + timedelta(hours=1),
        },
        [member.person],
        admin(),
    )
    assert activity.participants == [member.person]
    incident = ops.report_incident(
        center,
        {
            "occurred_at": start,
            "risk": "choking",
            "severity": "serious",
            "description": "午餐时噎食，海姆立克法处理后好转",
        },
        member.person,
        admin(),
    )
    raw = db.session.execute(
        sa.text("SELECT description FROM daycare_incident WHERE id = :id"), {"id": incident.id}
    ).scalar()
    assert "噎食" not in raw
    notes = db.session.execute(sa.text("SELECT dietary_notes FROM daycare_member")).scalar()
    assert "糖尿病" not in notes
    ops.close_incident(incident, "已通知家属，改为软食", admin())
    assert db.session.get(Incident, incident.id).closed_at is not None
