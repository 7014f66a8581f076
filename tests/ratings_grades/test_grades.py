"""The grade in force on a day: valid from its first day, no longer on ``valid_until``, the
newer of two overlapping grades; set-based for any number of facilities; the history."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.core.i18n import speaking
from eldercare.facilities.models import Facility
from eldercare.ratings.grades import grades_on, history, last_day, star_label
from tests.querycount import count_queries
from tests.ratings_grades.helpers import build_grade

D = date


def level_on(facility, day):
    grade = grades_on([facility.id], day).get(facility.id)
    return grade.level if grade else None


def test_a_grade_is_in_force_from_its_first_day_until_the_day_before_valid_until(world):
    grade = build_grade(world.facility_a, 3, D(2022, 7, 1), D(2025, 7, 1))
    assert level_on(world.facility_a, D(2022, 6, 30)) is None
    assert level_on(world.facility_a, D(2022, 7, 1)) == 3
    assert level_on(world.facility_a, D(2025, 6, 30)) == 3
    assert level_on(world.facility_a, D(2025, 7, 1)) is None  # valid_until is exclusive
    assert last_day(grade) == D(2025, 6, 30)


def test_the_newer_of_two_overlapping_grades_wins(world):
    build_grade(world.facility_a, 2, D(2021, 3, 1))  # until 2024-03-01
    build_grade(world.facility_a, 4, D(2023, 9, 1))  # re-rated before the first ran out
    assert level_on(world.facility_a, D(2023, 8, 31)) == 2
    assert level_on(world.facility_a, D(2023, 9, 1)) == 4
    assert level_on(world.facility_a, D(2024, 2, 29)) == 4  # both valid: the newer
    assert level_on(world.facility_a, D(2026, 8, 31)) == 4
    assert level_on(world.facility_a, D(2026, 9, 1)) is None


def test_grades_published_the_same_day_the_later_one_wins(world):
    build_grade(world.facility_a, 2, D(2024, 1, 10))
    build_grade(world.facility_a, 3, D(2024, 1, 10))
    assert level_on(world.facility_a, D(2024, 5, 1)) == 3


def test_grades_on_many_facilities_in_one_query(world, make_facility):
    day = D(2025, 1, 1)
    others = [make_facility(world.township_a) for _ in range(5)]
    for n, facility in enumerate(others):
        build_grade(facility, n % 5 + 1, day - timedelta(days=100 + n))
    build_grade(world.facility_b, 5, day + timedelta(days=1))  # not yet
    ids = [world.facility_a.id, world.facility_b.id, *(f.id for f in others)]
    with count_queries() as statements:
        found = grades_on(ids, day)
    assert len(statements) == 1
    assert {fid: g.level for fid, g in found.items()} == {
        f.id: n % 5 + 1 for n, f in enumerate(others)
    }
    # The facilities may be given as a SELECT of ids, too.
    township_a = sa.select(Facility.id).where(Facility.region_id == world.township_a.id)
    assert set(grades_on(township_a, day)) == {f.id for f in others}
    with count_queries() as statements:
        assert grades_on([], day) == {}
    assert statements == []


def test_history_is_newest_first_with_its_rounds(world):
    old = build_grade(world.facility_a, 2, D(2019, 5, 1), round_name="2019年度评定")
    new = build_grade(world.facility_a, 4, D(2022, 5, 1), round_name="2022年度评定")
    build_grade(world.facility_b, 5, D(2022, 5, 1))
    found = history(world.facility_a)
    assert [g.id for g in found] == [new.id, old.id]
    assert [g.round.name for g in found] == ["2022年度评定", "2019年度评定"]
    assert [g.level for g in history(world.facility_b)] == [5]


def test_star_label(app):
    with app.test_request_context():
        assert star_label(3) == "★★★"
        assert star_label(5) == "★★★★★"
        with speaking("en"):
            assert star_label(None) == "Not rated"
        with speaking("zh_Hans_CN"):
            assert star_label(None) == "未评级"
