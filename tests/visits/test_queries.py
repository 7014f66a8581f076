"""The visit list pages cost the same number of queries for 3 people as for 30 (no query
per row)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eldercare.core.db import local_today
from tests.builders import build_person
from tests.querycount import count_queries
from tests.visits.helpers import admin, at, build_target, record

PAGES = ["/visits/", "/visits/targets", "/visits/coverage", "/visits/candidates", "/"]


def _people(world, n: int) -> None:
    today = local_today()
    visitor = world.user("visitor")
    for i in range(n):
        person = build_person(world.village_a, lives_alone=True, phone=f"1390000{i:04d}")
        target = build_target(person, [visitor], today - timedelta(days=120))
        visit = record(target, admin(), at(today - timedelta(days=95 - i % 10)), follow_up="漏水")
        assert visit.follow_ups
        build_person(world.village_a, empty_nest=True)  # a candidate not yet enrolled


def _queries(client, url: str) -> int:
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("url", PAGES)
def test_list_pages_do_not_query_per_row(world, client, auth, url):
    auth.login_as(world.user("township_staff"))
    _people(world, 3)
    few = _queries(client, url)
    _people(world, 27)
    page = client.get(url).get_data(as_text=True)
    if url in ("/visits/", "/visits/targets", "/visits/candidates"):
        assert page.count("老人") >= 30  # every row is on the page
    many = _queries(client, url)
    assert many == few, f"{url}: {few} queries for 3 people, {many} for 30"
