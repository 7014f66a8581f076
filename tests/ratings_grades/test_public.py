"""The public search and facility page show the star level in force today; the search finds
facilities by their star level; a page costs the same queries for 1 facility as for 13."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from eldercare.core.db import local_today
from tests.public.test_search import beds, not_rated
from tests.querycount import count_queries
from tests.ratings_grades.helpers import build_grade, plus_years


def search(client, **params) -> str:
    response = client.get("/public/facilities", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row_of(body: str, name: str) -> str:
    """The result row of one facility."""
    rows = [r for r in body.split("<tr") if f">{name}</a>" in r]
    assert len(rows) == 1, name
    return rows[0]


def found(body: str) -> set[str]:
    return set(re.findall(r'<a href="/public/facilities/\d+">([^<]+)</a>', body))


@pytest.fixture
def rated(world, make_facility):
    """马营镇敬老院 three stars today; 阳平养老院 one star; 五星养老院 five stars; an expired
    five-star grade and one that starts tomorrow leave 未来养老院 not rated."""
    today = local_today()
    build_grade(world.facility_a, 3, today - timedelta(days=400))
    build_grade(world.facility_b, 1, today)
    five = make_facility(world.township_b, name="五星养老院")
    build_grade(five, 5, today - timedelta(days=10))
    later = make_facility(world.township_b, name="未来养老院")
    build_grade(later, 5, plus_years(today, -3), today)  # ran out yesterday
    build_grade(later, 4, today + timedelta(days=1))
    return world


def test_search_shows_the_star_level_in_force(client, rated):
    body = search(client)
    assert "★★★" in row_of(body, "马营镇敬老院") and "★★★★" not in row_of(body, "马营镇敬老院")
    assert "★" in row_of(body, "阳平养老院") and "★★" not in row_of(body, "阳平养老院")
    assert "★★★★★" in row_of(body, "五星养老院")
    later = row_of(body, "未来养老院")
    assert "★" not in later and not_rated(client) in later


def test_facility_page_shows_the_stars_and_the_last_valid_day(client, rated):
    today = local_today()
    body = client.get(f"/public/facilities/{rated.facility_a.id}").get_data(as_text=True)
    level = body.split('id="star-level"')[1].split("</dd>")[0]
    last_day = plus_years(today - timedelta(days=400), 3) - timedelta(days=1)
    assert "★★★" in level and last_day.isoformat() in level
    other = client.get(f"/public/facilities/{rated.facility_b.id}").get_data(as_text=True)
    assert "★" in other.split('id="star-level"')[1].split("</dd>")[0]


def test_unrated_facility_page_says_not_rated(client, world):
    body = client.get(f"/public/facilities/{world.facility_a.id}").get_data(as_text=True)
    level = body.split('id="star-level"')[1].split("</dd>")[0]
    assert not_rated(client) in level and "★" not in level


def test_minimum_star_level_filter(client, rated):
    everyone = {"马营镇敬老院", "阳平养老院", "五星养老院", "未来养老院"}
    assert found(search(client)) == everyone
    assert found(search(client, min_star=1)) == everyone - {"未来养老院"}
    assert found(search(client, min_star=3)) == {"马营镇敬老院", "五星养老院"}
    assert found(search(client, min_star=5)) == {"五星养老院"}
    assert 'id="f-min-star"' in search(client)


@pytest.mark.parametrize("bad", ["0", "6", "three"])
def test_an_invalid_minimum_is_ignored_with_a_notice(client, rated, bad):
    body = search(client, min_star=bad)
    assert "alert-warning" in body
    assert found(body) == {"马营镇敬老院", "阳平养老院", "五星养老院", "未来养老院"}


def test_exact_star_level_and_unrated_filters(client, rated):
    assert found(search(client, star="3")) == {"马营镇敬老院"}
    assert found(search(client, star="4")) == set()
    assert found(search(client, star="unrated")) == {"未来养老院"}
    assert found(search(client, star="5", min_star=3)) == {"五星养老院"}


@pytest.mark.parametrize("url", ["/public/facilities", "facility"])
def test_query_count_does_not_grow_with_rated_facilities(
    client, world, make_facility, make_room, make_bed, url
):
    today = local_today()

    def queries() -> int:
        target = url if url.startswith("/") else f"/public/facilities/{world.facility_a.id}"
        with count_queries() as seen:
            response = client.get(target, query_string={"per_page": 50, "min_star": 1})
        assert response.status_code == 200
        return len(seen.selects)

    build_grade(world.facility_a, 2, today - timedelta(days=5))
    few = queries()
    for n in range(12):
        facility = make_facility(world.township_a, name=f"星级养老院{n:02d}")
        beds(make_room, make_bed, facility, ("nursing", 2000))
        build_grade(facility, n % 5 + 1, today - timedelta(days=n))
        build_grade(facility, 1, today - timedelta(days=800))  # superseded
    assert queries() == few
    if url.startswith("/"):
        body = search(client, per_page=50, min_star=1)
        assert body.count("星级养老院") == 12
