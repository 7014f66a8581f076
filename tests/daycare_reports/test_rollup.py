"""The roll-up of every day-care center of an area: who is not operating, totals that add
up, and a cost that does not grow with the number of centers."""

from __future__ import annotations

from datetime import date, timedelta

from eldercare.daycare.reports import county_rollup, monthly_report
from tests.builders import build_facility, build_person
from tests.daycare_reports.helpers import activity, attend, build_center, closed, local, meal
from tests.querycount import count_queries

TODAY = date(2025, 3, 26)  # a Wednesday
MARCH = date(2025, 3, 1)


def _busy_center(world, name: str):
    """A center with a few people a day, meals and an activity in March."""
    center = build_center(world.township_a, name=name)
    people = [build_person(world.village_a) for _ in range(3)]
    for day in (date(2025, 3, 3), date(2025, 3, 4), TODAY - timedelta(days=1)):
        for person in people:
            attend(center, person, day)
            meal(center, person, day, subsidised=person is people[0])
    activity(center, local(date(2025, 3, 4), 10), people)
    return center


def test_a_center_idle_longer_than_the_threshold_is_not_operating(world):
    """Idle days 14 on 26 March: the window is 13-26 March. Last attendance on the 24th or
    on the 13th: operating; on the 12th (14 days ago) or never: not operating."""
    recent = build_center(world.township_a, name="近期有出勤")
    edge = build_center(world.township_a, name="第十三天")
    idle = build_center(world.township_a, name="十四天前")
    build_center(world.township_a, name="从未出勤")
    person = build_person(world.village_a)
    attend(recent, person, date(2025, 3, 24))
    attend(edge, person, date(2025, 3, 13))
    attend(idle, person, date(2025, 3, 12))
    attend(idle, person, date(2025, 2, 10))
    rollup = county_rollup(world.county_a, MARCH, 14, TODAY)
    flags = {r.facility.name: (r.not_operating, r.last_attendance) for r in rollup.centers}
    assert flags == {
        "近期有出勤": (False, date(2025, 3, 24)),
        "第十三天": (False, date(2025, 3, 13)),
        "十四天前": (True, date(2025, 3, 12)),
        "从未出勤": (True, None),
    }
    assert rollup.total.not_operating == 2
    # A longer threshold for one view: only the center that never recorded attendance.
    longer = county_rollup(world.county_a, MARCH, 30, TODAY)
    assert [r.facility.name for r in longer.centers if r.not_operating] == ["从未出勤"]


def test_last_attendance_is_the_latest_up_to_today_even_for_a_past_month(world):
    center = build_center(world.township_a)
    person = build_person(world.village_a)
    attend(center, person, date(2025, 2, 3))
    attend(center, person, date(2025, 3, 20))
    attend(center, person, TODAY + timedelta(days=1))  # a mistake in the future: ignored
    [row] = county_rollup(world.county_a, date(2025, 2, 1), 14, TODAY).centers
    assert row.person_days == 1  # February's
    assert (row.last_attendance, row.not_operating) == (date(2025, 3, 20), False)


def test_only_active_day_care_facilities_of_the_area_are_listed(world):
    listed = build_center(world.township_a, name="马营日照中心")
    build_center(world.township_a, kind="happiness_home", name="马营幸福院")
    build_center(world.township_a, name="已停用中心", active=False)
    build_facility(world.township_a, name="马营养老院")  # a nursing home
    build_center(world.township_b, name="阳平日照中心")  # the other county
    names = [r.facility.name for r in county_rollup(world.county_a, MARCH, 14, TODAY).centers]
    assert sorted(names) == ["马营幸福院", "马营日照中心"]
    township = county_rollup(world.township_a, MARCH, 14, TODAY)
    assert listed.id in {r.facility.id for r in township.centers}


def test_each_center_matches_its_monthly_report_and_the_totals_add_up(world):
    first = _busy_center(world, "一号中心")
    second = build_center(
        world.township_a, name="二号中心", settings={"capacity": 10, "open_days": [0, 2, 4]}
    )
    closed(second, date(2025, 3, 5))
    shared = build_person(world.village_a, name="两处都去")
    attend(first, shared, date(2025, 3, 10))
    attend(second, shared, date(2025, 3, 10))
    meal(second, shared, date(2025, 3, 12), subsidised=True)
    rollup = county_rollup(world.county_a, MARCH, 14, TODAY)
    rows = {r.facility.id: r for r in rollup.centers}
    for center in (first, second):
        report = monthly_report(center, MARCH, today=TODAY)
        row = rows[center.id]
        assert (row.open_days, row.person_days, row.people_served) == (
            report.open_days,
            report.person_days,
            report.people_served,
        )
        assert (row.meals, row.subsidised_meals, row.activities) == (
            report.meals,
            report.subsidised_meals,
            report.activities,
        )
        assert row.average_daily == report.average_daily
    # First: 3 people x 3 days + the shared person = 10 person-days, 4 people, 9 meals (3
    # subsidised), 1 activity; Mon-Fri up to the 26th = 18 open days.
    # Second: Mon, Wed, Fri up to the 26th = 11, less Wednesday the 5th = 10 open days;
    # 1 person-day, 1 meal (subsidised).
    assert (rows[first.id].open_days, rows[second.id].open_days) == (18, 10)
    t = rollup.total
    assert (t.centers, t.person_days, t.meals, t.subsidised_meals, t.activities) == (
        2,
        11,
        10,
        4,
        1,
    )
    # The shared person is one of the 4 people of the first center and the 1 of the second:
    # 4 different people in all, not 5.
    assert (rows[first.id].people_served, rows[second.id].people_served, t.people_served) == (
        4,
        1,
        4,
    )
    assert t.capacity == 30 + 10
    assert t.average_daily == 10 / 18 + 1 / 10
    assert t.capacity_ratio == (10 / 18 + 1 / 10) / 40


def test_the_query_count_does_not_grow_with_the_number_of_centers(world):
    _busy_center(world, "中心1")
    with count_queries() as few:
        county_rollup(world.county_a, MARCH, 14, TODAY)
    for n in range(2, 12):
        _busy_center(world, f"中心{n}")
    with count_queries() as many:
        rollup = county_rollup(world.county_a, MARCH, 14, TODAY)
    assert len(rollup.centers) == 11 and rollup.total.person_days == 11 * 9
    assert len(many) == len(few), f"{len(few)} queries for 1 center, {len(many)} for 11"


def test_the_monthly_report_costs_the_same_for_a_busy_month(world):
    quiet = build_center(world.township_a)
    with count_queries() as few:
        monthly_report(quiet, MARCH, today=TODAY)
    busy = _busy_center(world, "忙碌中心")
    for n in range(20):
        person = build_person(world.village_a)
        attend(busy, person, date(2025, 3, 3) + timedelta(days=n))
    with count_queries() as many:
        report = monthly_report(busy, MARCH, today=TODAY)
    assert report.person_days == 9 + 20
    assert len(many) == len(few)
