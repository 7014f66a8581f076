"""The monthly report of one center against figures worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from eldercare.core.db import local_today
from eldercare.daycare.reports import monthly_report
from tests.builders import build_person
from tests.daycare_reports.helpers import (
    activity,
    attend,
    build_center,
    closed,
    incident,
    local,
    meal,
    member,
)

MARCH = date(2025, 3, 1)


def d(day: int, month: int = 3) -> date:
    return date(2025, month, day)


@pytest.fixture
def march(world):
    """A center open Monday to Friday with 20 places, and its March 2025 (a past month).

    March 2025 starts on a Saturday. Its weekdays are the 3rd-7th, 10th-14th, 17th-21st,
    24th-28th and the 31st: 21 days. Closed on Wednesday the 5th (an opening day: 20 open
    days left), on Saturday the 8th (not an opening day anyway: no change) and on 2 April
    (another month: no change).

    Members: A since January; B joined on 10 March (new); C left on 20 March (a leaver, not a
    member on the 31st); D joins on 1 April (not yet); E left in February.
    -> 2 members at month end (A, B), 1 new, 1 leaver.

    Attendance: A on the 3rd, 4th, 6th, 7th (4); B on the 10th, 11th, 12th (3); C on the 3rd
    and 17th (2); W, a walk-in, on the 12th (1); not counted: A on 28 Feb and 1 Apr, and A at
    another center on the 4th.
    -> 10 person-days, 1 walk-in; average 10 / 20 open days = 0.5 people a day, 0.5 / 20
    places = 2.5 %.

    Meals: A lunch on the 3rd and 4th (subsidised, 10.00 yuan each) and breakfast on the 4th
    (3.00, not subsidised); B lunch on the 10th (not subsidised); M, who never attended, lunch
    on the 14th (subsidised, 12.00); not counted: A's subsidised lunch on 28 Feb.
    -> lunch 4, breakfast 1, dinner 0: 5 meals; 3 subsidised worth 1000 + 1000 + 1200 =
    3200 fen.

    People served (attended or ate): A, B, C, W from attendance, M from meals -> 5.

    Activities: on the 6th at 10:00 with A, B, C (3 participants); on 1 March at 07:00 Beijing
    time (still 28 Feb in UTC: counted) with nobody; on 1 April at 00:30 Beijing time (still
    31 March in UTC: not counted) with A.
    -> 2 activities, 3 participant-times.

    Incidents: a fall on the 7th (closed), a fall on the 17th (open), choking on the 20th
    (open); not counted: a scald on 27 Feb.
    -> choking 1, falls 2; 2 open.
    """
    region = world.village_a
    center = build_center(
        world.township_a,
        name="马营日间照料中心",
        settings={"capacity": 20, "open_days": [0, 1, 2, 3, 4]},
    )
    other = build_center(world.township_a, name="另一中心")
    for day in (d(5), d(8), d(2, 4)):
        closed(center, day)
    a, b, c, dd, e, w, m = (build_person(region, name=n) for n in "ABCDEWM")
    member(center, a, date(2025, 1, 6))
    member(center, b, d(10))
    member(center, c, date(2024, 11, 4), left_on=d(20))
    member(center, dd, d(1, 4))
    member(center, e, date(2024, 9, 2), left_on=d(14, 2))
    for day in (d(3), d(4), d(6), d(7), d(28, 2), d(1, 4)):
        attend(center, a, day)
    attend(other, a, d(4))
    for day in (d(10), d(11), d(12)):
        attend(center, b, day)
    for day in (d(3), d(17)):
        attend(center, c, day)
    attend(center, w, d(12), walk_in=True)
    meal(center, a, d(3), subsidised=True)
    meal(center, a, d(4), subsidised=True)
    meal(center, a, d(4), "breakfast", price_fen=300)
    meal(center, b, d(10))
    meal(center, m, d(14), subsidised=True, price_fen=1200)
    meal(center, a, d(28, 2), subsidised=True)
    activity(center, local(d(6), 10), [a, b, c])
    activity(center, local(d(1), 7))
    activity(center, local(d(1, 4), 0, 30), [a])
    incident(center, local(d(7), 15), "fall", closed_at=local(d(8), 9))
    incident(center, local(d(17), 11), "fall")
    incident(center, local(d(20), 12), "choking")
    incident(center, local(d(27, 2), 12), "scald")
    return center


def test_a_past_month_counts_every_figure(march):
    r = monthly_report(march, MARCH)
    assert (r.period.first, r.period.last) == (d(1), d(31))
    assert r.open_days == 20
    assert r.closed_days == [d(5)]
    assert r.person_days == 10
    assert r.walk_ins == 1
    assert r.people_served == 5
    assert r.average_daily == 0.5
    assert r.capacity_ratio == 0.025
    assert (r.members_at_end, r.new_members, r.leavers) == (2, 1, 1)
    assert r.meals_by_type == {"breakfast": 1, "lunch": 4, "dinner": 0}
    assert r.meals == 5
    assert (r.subsidised_meals, r.subsidised_amount_fen) == (3, 3200)
    assert (r.activities, r.participant_times) == (2, 3)
    assert r.incidents_by_risk == {"choking": 1, "fall": 2}
    assert (r.incidents, r.open_incidents) == (3, 2)


def test_the_series_has_every_day_of_the_month(march):
    r = monthly_report(march, MARCH)
    by_day = {x.day: x for x in r.days}
    assert list(by_day) == [d(n) for n in range(1, 32)]
    # The 3rd: A and C came, A had lunch. The 4th: A came, lunch and breakfast.
    assert (by_day[d(3)].attendance, by_day[d(3)].meals) == (2, 1)
    assert (by_day[d(4)].attendance, by_day[d(4)].meals) == (1, 2)
    assert (by_day[d(12)].attendance, by_day[d(14)].meals) == (2, 1)
    assert not by_day[d(5)].open and not by_day[d(8)].open and by_day[d(31)].open
    assert sum(x.attendance for x in r.days) == r.person_days
    assert sum(x.meals for x in r.days) == r.meals
    assert sum(x.open for x in r.days) == r.open_days


def test_the_current_month_counts_only_days_up_to_today(march):
    """Seen on Wednesday 12 March: open days are the 3rd, 4th, 6th, 7th, 10th, 11th, 12th (7);
    attendance A 4 + B 3 + C 1 (the 3rd) + W 1 = 9; meals A 3 + B 1 = 4 (M's on the 14th is
    to come); members on the 12th: A, B and C (leaving on the 20th), 1 new, no leaver yet;
    activities on the 1st and 6th; incidents: the fall on the 7th."""
    r = monthly_report(march, MARCH, today=d(12))
    assert r.period.last == d(12) and len(r.days) == 12
    assert r.open_days == 7
    assert (r.person_days, r.walk_ins, r.meals) == (9, 1, 4)
    assert r.people_served == 4  # A, B, C, W
    assert r.average_daily == 9 / 7
    assert (r.members_at_end, r.new_members, r.leavers) == (3, 1, 0)
    assert (r.activities, r.participant_times) == (2, 3)
    assert (r.incidents_by_risk, r.open_incidents) == ({"fall": 1}, 0)


def test_this_month_stops_at_today(world):
    """Against the real clock: the days are the 1st to today, and the open days those of
    them on a weekday (the defaults of a center never configured: Monday to Friday)."""
    today = local_today()
    center = build_center(world.township_a)
    person = build_person(world.village_a)
    attend(center, person, today)
    attend(center, person, today + timedelta(days=1))  # a mistake in the future: not counted
    r = monthly_report(center, today)
    first = today.replace(day=1)
    assert [x.day for x in r.days] == [first + timedelta(days=n) for n in range(today.day)]
    weekdays = sum(1 for n in range(today.day) if (first + timedelta(days=n)).weekday() < 5)
    assert r.open_days == weekdays
    assert r.person_days == 1 and r.settings.capacity == 30


def test_a_month_not_begun_has_no_days_and_no_average(march):
    r = monthly_report(march, date(2025, 4, 1), today=d(31))
    assert r.days == [] and r.open_days == 0 and r.person_days == 0
    assert r.average_daily is None and r.capacity_ratio is None
    assert r.activities == 0  # the activity of 1 April at 00:30 is not counted yet
