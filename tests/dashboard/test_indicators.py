"""Bed indicators recomputed by hand on a small world, their history, and their scope."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from eldercare.beds.models import Leave, Outage, Stay
from eldercare.core.db import local_today
from eldercare.dashboard.indicators import bed_indicators, sixty_on, trend_days
from eldercare.extensions import db
from tests.querycount import count_queries

DAY = date(2025, 6, 15)
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def county(world, make_room, make_bed, make_person):
    """Facility A (county A): 10 beds since 2024, 6 nursing and 4 general; three stays
    cover DAY (one of them on leave), one ended on DAY, one ended before; people of 60+."""
    room = make_room(world.facility_a)
    beds = [make_bed(room, care_type="nursing" if i < 6 else "general") for i in range(10)]
    for bed in beds:
        bed.created_at = LONG_AGO
    residents = [make_person(world.village_a) for _ in range(5)]  # born 1950: elderly

    def stay(bed, person, admitted, discharged=None):
        s = Stay(
            bed_id=bed.id,
            facility_id=bed.facility_id,
            person_id=person.id,
            admitted_on=admitted,
            discharged_on=discharged,
            discharge_reason="home" if discharged else None,
        )
        db.session.add(s)
        db.session.flush()
        return s

    stay(beds[0], residents[0], date(2025, 6, 10))
    on_leave = stay(beds[1], residents[1], date(2025, 6, 10))
    db.session.add(Leave(stay_id=on_leave.id, start_on=date(2025, 6, 12)))
    stay(beds[6], residents[2], date(2025, 6, 10), date(2025, 6, 20))
    stay(beds[7], residents[3], date(2025, 6, 1), DAY)  # left on DAY: not there that day
    # Last month's stay: in at the end of May, gone on 2 June.
    stay(beds[8], residents[4], date(2025, 5, 5), date(2025, 6, 2))

    make_person(world.village_a, born=date(1965, 6, 15))  # 60 on DAY exactly
    make_person(world.village_a, born=date(1965, 6, 16))  # 59 on DAY
    make_person(world.village_a, born=date(1940, 1, 1), death_date=date(2025, 1, 1))
    make_person(world.village_a, born=date(1940, 1, 1), death_date=date(2025, 7, 1))
    # County B: beds and people that county A never sees.
    other = make_room(world.facility_b)
    for _ in range(4):
        make_bed(other, care_type="general").created_at = LONG_AGO
    make_person(world.village_b, born=date(1940, 1, 1))
    db.session.flush()
    return beds


def test_figures_by_hand(world, county):
    ind = bed_indicators(world.county_a, DAY)
    t = ind.total
    assert (t.beds, t.nursing, t.by_care_type["general"]) == (10, 6, 4)
    assert t.nursing_share == pytest.approx(0.6) and t.meets_nursing_target is True
    assert t.occupied == 3 and t.in_service == 10
    assert t.occupancy_rate == pytest.approx(0.3)
    # person_a and the 5 residents (born 1950), the one just 60, the one who died later.
    assert t.elderly == 8
    assert t.beds_per_1000_elderly == pytest.approx(1250)


def test_breakdown_by_township_and_facility(world, county):
    ind = bed_indicators(world.county_a, DAY)
    township = next(a for a in ind.by_subregion if a.id == world.township_a.id)
    assert (township.figures.beds, township.figures.occupied, township.figures.elderly) == (
        10,
        3,
        8,
    )
    (facility,) = ind.by_facility
    assert facility.name == "马营镇敬老院" and facility.figures.nursing == 6


def test_out_of_service_beds_leave_the_denominator(world, county):
    db.session.add(Outage(bed_id=county[9].id, reason="维修", start_on=date(2025, 6, 1)))
    db.session.add(
        Outage(bed_id=county[5].id, reason="维修", start_on=date(2025, 1, 1), end_on=DAY)
    )
    db.session.flush()
    t = bed_indicators(world.county_a, DAY).total
    assert (t.beds, t.in_service, t.occupied) == (10, 9, 3)
    assert t.occupancy_rate == pytest.approx(3 / 9)


def test_below_target_share(world, make_room, make_bed):
    room = make_room(world.facility_a)
    for care_type in ("nursing", "general", "dementia", "general"):
        make_bed(room, care_type=care_type)
    t = bed_indicators(world.county_a, local_today()).total
    assert t.nursing_share == pytest.approx(0.25) and t.meets_nursing_target is False


def test_trend_uses_the_history(world, county):
    trend = bed_indicators(world.county_a, DAY).trend
    assert [p.day for p in trend] == trend_days(DAY)
    assert len(trend) == 12 and trend[0].day == date(2024, 7, 31) and trend[-1].day == DAY
    by_day = {p.day: p for p in trend}
    assert by_day[date(2025, 5, 31)].occupied == 1  # the stay discharged on 2 June
    assert by_day[date(2025, 4, 30)].occupied == 0
    assert by_day[DAY].occupied == 3
    assert all(p.beds == 10 for p in trend)


def test_a_bed_exists_from_its_first_stay_when_entered_later(world, county):
    county[8].created_at = datetime(2025, 6, 14, tzinfo=UTC)  # entered after its history
    db.session.flush()
    by_day = {p.day: p for p in bed_indicators(world.county_a, DAY).trend}
    assert by_day[date(2025, 4, 30)].beds == 9
    assert by_day[date(2025, 5, 31)].beds == 10


def test_sixty_on_a_leap_day():
    assert sixty_on(date(2024, 2, 29)) == date(1964, 2, 29)
    assert sixty_on(date(2025, 6, 15)) == date(1965, 6, 15)


def test_query_count_is_fixed(world, county, make_facility, make_room, make_bed):
    for n in range(8):
        room = make_room(make_facility(world.township_a, name=f"养老院{n}"))
        make_bed(room)
    with count_queries() as seen:
        bed_indicators(world.county_a, DAY)
    assert len(seen.selects) <= 8, str(seen)


def test_page_for_county_staff(client, auth, world, county):
    auth.login_as(world.user("county_staff"))
    response = client.get("/dashboard/beds", query_string={"on": DAY.isoformat()})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "马营镇敬老院" in body and "阳平养老院" not in body
    assert "60.0%" in body and "30.0%" in body and "data-figure=" in body
    assert "/dashboard/plotly.min.js" in body and "<script>" not in body


def test_county_staff_never_see_another_county(client, auth, world, county):
    auth.login_as(world.user("county_staff"))
    assert client.get(f"/dashboard/beds?region_id={world.county_b.id}").status_code == 404
    auth.login_as(world.user("township_staff"))
    body = client.get("/dashboard/beds").get_data(as_text=True)
    assert "马营镇敬老院" in body and "阳平养老院" not in body


def test_admin_chooses_a_region(client, auth, world, county):
    auth.login_as(world.user("admin"))
    body = client.get(
        f"/dashboard/beds?region_id={world.county_b.id}&on={DAY.isoformat()}"
    ).get_data(as_text=True)
    assert "阳平养老院" in body and "马营镇敬老院" not in body


def test_a_future_date_is_ignored(client, auth, world):
    auth.login_as(world.user("county_staff"))
    body = client.get("/dashboard/beds?on=2999-01-01").get_data(as_text=True)
    assert "alert-warning" in body


def test_plotly_is_served_locally(client):
    response = client.get("/dashboard/plotly.min.js")
    assert response.status_code == 200 and b"plotly" in response.data[:2000].lower()
