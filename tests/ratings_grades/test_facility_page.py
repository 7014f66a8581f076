"""The staff facility page shows the grade in force and every grade the facility had."""

from __future__ import annotations

from datetime import date, timedelta

from eldercare.core.db import local_today
from tests.public.test_search import not_rated
from tests.ratings_grades.helpers import build_grade


def page(client, facility) -> str:
    response = client.get(f"/facilities/{facility.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_grade_in_force_and_history(client, auth, world):
    today = local_today()
    start = today - timedelta(days=200)
    old = build_grade(
        world.facility_a, 2, date(2019, 4, 1), date(2022, 4, 1), total="655.0", round_name="首轮"
    )
    now = build_grade(world.facility_a, 4, start, total="861.5", round_name="本轮评定")
    auth.login_as(world.user("township_staff"))
    body = page(client, world.facility_a)
    level = body.split('id="star-level"')[1].split("</dd>")[0]
    assert "★★★★" in level and (now.valid_until - timedelta(days=1)).isoformat() in level
    table = body.split('id="grade-history"')[1].split("</table>")[0]
    rows = table.split("<tr")[2:]  # after the heading row
    assert len(rows) == 2
    assert "★★★★" in rows[0] and "本轮评定" in rows[0] and "861.5" in rows[0]
    assert start.isoformat() in rows[0] and "table-success" in rows[0]
    assert "★★" in rows[1] and "★★★" not in rows[1] and "首轮" in rows[1] and "655.0" in rows[1]
    assert "2019-04-01" in rows[1] and "2022-03-31" in rows[1]
    assert old.valid_until.isoformat() not in rows[1]  # shown as its last valid day


def test_an_unrated_facility(client, auth, world):
    auth.login_as(world.user("operator"))
    body = page(client, world.facility_a)
    assert not_rated(client) in body.split('id="star-level"')[1].split("</dd>")[0]
    assert 'id="grade-history"' not in body
