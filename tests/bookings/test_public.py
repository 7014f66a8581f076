"""The public search finds day-care centers and home-care providers by the services they take
bookings for; a facility's page lists its services with their prices and a way to book; the
search stays a fixed handful of queries however many facilities it lists."""

from __future__ import annotations

from datetime import time

from flask_babel import gettext
from markupsafe import escape

from eldercare.extensions import db
from tests.bookings.helpers import make_service
from tests.querycount import count_queries


def shown(client, message) -> str:
    with client.application.test_request_context():
        return str(escape(gettext(message)))


def search(client, **params) -> str:
    response = client.get("/public/facilities", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def providers(world, make_facility):
    """A day-care center offering trial days and a home-care provider bringing meals, neither
    with beds (so the bed search alone would not list them)."""
    center = make_facility(world.township_a, name="经二路日间照料中心", kind="day_care")
    provider = make_facility(world.township_a, name="渭滨助老服务社", kind="home_care_provider")
    make_service(
        center, kind="trial_day", name="日托体验一天", opens_at=time(8), closes_at=time(17)
    )
    make_service(provider, kind="meal", name="老年助餐送餐", price_fen=1200)
    return center, provider


def test_the_search_finds_centers_and_providers_by_service(client, world, make_facility):
    providers(world, make_facility)
    everything = search(client)
    assert "经二路日间照料中心" in everything and "渭滨助老服务社" in everything
    assert "马营镇敬老院" in everything  # the homes are still listed
    assert "日托体验一天" in everything and "老年助餐送餐" in everything  # each one's services

    trial = search(client, service="trial_day")
    assert "经二路日间照料中心" in trial
    assert "渭滨助老服务社" not in trial and "马营镇敬老院" not in trial
    meals = search(client, service="meal")
    assert "渭滨助老服务社" in meals and "经二路日间照料中心" not in meals


def test_only_active_services_of_active_facilities_count(client, world, make_facility):
    _center, provider = providers(world, make_facility)
    make_service(world.facility_a, kind="meal", name="停用的送餐", active=False)
    provider.active = False
    db.session.flush()
    meals = search(client, service="meal")
    assert "渭滨助老服务社" not in meals and "马营镇敬老院" not in meals
    assert "停用的送餐" not in search(client)


def test_an_unknown_service_kind_is_ignored_with_a_notice(client, world, make_facility):
    providers(world, make_facility)
    body = search(client, service="massage")
    assert "alert-warning" in body and "渭滨助老服务社" in body


def test_the_facility_page_lists_services_with_prices(client, auth, world, make_facility):
    _center, provider = providers(world, make_facility)
    visits = make_service(world.facility_a, name="家属探视", price_fen=None, weekdays=[5, 6])
    make_service(world.facility_a, name="已停的服务", active=False)

    page = client.get(f"/public/facilities/{world.facility_a.id}").get_data(as_text=True)
    assert "家属探视" in page and "已停的服务" not in page
    row = page[page.index(f'data-service="{visits.id}"') :][:1500]
    assert shown(client, "Free of charge") in row
    assert "09:00–17:00" in row
    assert shown(client, "Sat") in row and shown(client, "Sun") in row
    assert f'href="/bookings/services/{visits.id}"' in row  # sign-in comes first, by the route

    meals = client.get(f"/public/facilities/{provider.id}").get_data(as_text=True)
    assert "老年助餐送餐" in meals and "12.00" in meals
    # A provider without beds is not told to list its beds.
    assert shown(client, "This facility has not listed its beds yet. Please call to ask.") not in (
        meals
    )

    auth.login_as(world.user("county_staff"))  # staff do not book
    staff_page = client.get(f"/public/facilities/{world.facility_a.id}").get_data(as_text=True)
    assert "家属探视" in staff_page and "/bookings/services/" not in staff_page
    auth.login_as(world.user("family"))
    assert f'href="/bookings/services/{visits.id}"' in client.get(
        f"/public/facilities/{world.facility_a.id}"
    ).get_data(as_text=True)


def test_the_search_query_count_does_not_grow_with_facilities(client, world, make_facility):
    providers(world, make_facility)
    with count_queries() as few:
        search(client, per_page=50)
    for n in range(12):
        facility = make_facility(
            world.township_a, name=f"助老服务社{n:02d}", kind="home_care_provider"
        )
        make_service(facility, kind="meal", name=f"送餐{n:02d}")
        make_service(facility, kind="cleaning", name=f"保洁{n:02d}")
    with count_queries() as many:
        body = search(client, per_page=50)
    assert "送餐11" in body and "保洁00" in body
    assert len(many.selects) == len(few.selects), many.growth_over(few)
