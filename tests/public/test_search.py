"""Public vacancy search: filters, what counts as a free bed, no resident data, cheap pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eldercare.beds import operations as bed_ops
from eldercare.beds.models import BedStatus, Reservation
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from tests.builders import LOW_RISKS
from tests.querycount import count_queries


def not_rated(client) -> str:
    """未评级, once the catalogue has it (the pages speak Chinese by default)."""
    from flask_babel import gettext

    with client.application.test_request_context():
        return gettext("Not rated")


def names(client, **params) -> str:
    response = client.get("/public/facilities", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def beds(make_room, make_bed, facility, *specs):
    """Beds of one new room: each spec (care_type, price_yuan[, status])."""
    room = make_room(facility)
    made = []
    for spec in specs:
        bed = make_bed(room, care_type=spec[0], price_fen=spec[1] * 100)
        if len(spec) > 2:
            bed.status = spec[2]
        made.append(bed)
    db.session.flush()
    return made


def test_anonymous_visitors_can_search_and_see_the_link(client, world):
    body = names(client)
    assert "马营镇敬老院" in body and "阳平养老院" in body
    assert 'href="/public/facilities"' in body  # in the navbar for anonymous users
    assert "/auth/login" in body
    login_page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/public/facilities"' in login_page


def test_signed_in_users_see_the_link_too(client, auth, world):
    auth.login_as(world.user("family"))
    assert 'href="/public/facilities"' in client.get("/").get_data(as_text=True)


def test_region_narrows_to_its_subtree(client, world, make_facility, make_room, make_bed):
    village_home = make_facility(world.village_a, name="村里幸福院", kind="happiness_home")
    beds(make_room, make_bed, village_home, ("general", 800))
    county_a = names(client, region_id=world.county_a.id)
    assert "马营镇敬老院" in county_a and "村里幸福院" in county_a
    assert "阳平养老院" not in county_a
    township_b = names(client, region_id=world.township_b.id)
    assert "阳平养老院" in township_b and "马营镇敬老院" not in township_b


def test_other_kinds_are_listed_only_with_beds(client, world, make_facility, make_room, make_bed):
    make_facility(world.township_a, name="空的日间照料中心", kind="day_care")
    station = make_facility(world.township_a, name="有床的服务站", kind="community_station")
    beds(make_room, make_bed, station, ("general", 900))
    body = names(client)
    assert "空的日间照料中心" not in body and "有床的服务站" in body


def test_kind_filter(client, world):
    body = names(client, kind="township_home")
    assert "马营镇敬老院" in body and "阳平养老院" not in body


def test_care_type_needs_a_free_bed_of_that_type(client, world, make_room, make_bed):
    beds(make_room, make_bed, world.facility_a, ("dementia", 3000, "occupied"), ("general", 2000))
    beds(make_room, make_bed, world.facility_b, ("dementia", 3500))
    body = names(client, care_type="dementia")
    assert "阳平养老院" in body and "马营镇敬老院" not in body
    assert "马营镇敬老院" in names(client, care_type="general")


def test_price_range_applies_to_free_beds(client, world, make_room, make_bed):
    beds(make_room, make_bed, world.facility_a, ("nursing", 1500), ("nursing", 5000, "occupied"))
    beds(make_room, make_bed, world.facility_b, ("nursing", 4000))
    cheap = names(client, max_price=2000)
    assert "马营镇敬老院" in cheap and "阳平养老院" not in cheap
    dear = names(client, min_price=3000, max_price=6000)
    assert "阳平养老院" in dear and "马营镇敬老院" not in dear  # its 5,000 bed is taken
    assert "1,500" in cheap  # the price of the free bed is shown, in yuan


def test_star_level_filter_without_grades(client, world):
    unrated = names(client, star="unrated")
    assert "马营镇敬老院" in unrated and not_rated(client) in unrated
    assert "马营镇敬老院" not in names(client, star="3")


def test_invalid_filters_are_ignored_with_a_notice(client, world):
    # The highest price below the lowest: the highest is refused by name, the rest applies.
    body = names(client, kind="township_home", max_price=100, min_price=5000)
    assert "alert-warning" in body and "“最高（元）”" in body
    body = names(client, kind="township_home", star="nine")
    assert "马营镇敬老院" in body and "阳平养老院" not in body and "“星级”" in body


def test_what_counts_as_free(client, world, make_room, make_bed):
    now = utcnow()
    _vacant, expired, reserved, _occupied, _held, _out = beds(
        make_room,
        make_bed,
        world.facility_a,
        ("nursing", 2000),
        ("nursing", 2100, BedStatus.RESERVED.value),
        ("nursing", 2200, BedStatus.RESERVED.value),
        ("nursing", 2300, BedStatus.OCCUPIED.value),
        ("nursing", 2400, BedStatus.HELD.value),
        ("nursing", 2500, BedStatus.OUT_OF_SERVICE.value),
    )
    for bed, expires in (
        (expired, now - timedelta(minutes=1)),
        (reserved, now + timedelta(days=1)),
    ):
        db.session.add(
            Reservation(
                bed_id=bed.id, facility_id=bed.facility_id, holder_name="某某", expires_at=expires
            )
        )
    db.session.flush()
    body = client.get(f"/public/facilities/{world.facility_a.id}").get_data(as_text=True)
    assert "<strong>2</strong> / 6" in body  # the vacant bed and the expired reservation
    assert "2,000–2,100" in body
    assert "某某" not in body
    # The expired reservation alone is enough to be found under a price filter.
    assert "马营镇敬老院" in names(client, min_price=2050, max_price=2150)
    assert "马营镇敬老院" not in names(client, min_price=2150, max_price=2600)


def test_inactive_facilities_are_hidden(client, world):
    world.facility_b.active = False
    db.session.flush()
    assert "阳平养老院" not in names(client)
    assert client.get(f"/public/facilities/{world.facility_b.id}").status_code == 404
    assert client.get("/public/facilities/999999").status_code == 404


def test_facility_page_shows_no_resident_data(client, world, make_room, make_bed):
    world.facility_a.contact_name = "值班员刘某"
    world.facility_a.contact_phone = "0917-1234567"
    (bed, _) = beds(make_room, make_bed, world.facility_a, ("nursing", 2000), ("general", 1800))
    bed_ops.admit(bed, world.person_a, local_today(), LOW_RISKS, by=world.user("operator"))
    db.session.flush()
    body = client.get(f"/public/facilities/{world.facility_a.id}").get_data(as_text=True)
    assert "马营镇敬老院" in body and "0917-1234567" in body and not_rated(client) in body
    assert "<strong>0</strong> / 1" in body  # nursing: the one bed is taken
    person = world.person_a
    for secret in (person.name, person.id_number, person.id_number_masked, "值班员刘某"):
        assert secret not in body
    assert world.user("operator").display_name not in body


@pytest.mark.parametrize("extra", [0, 12])
def test_query_count_does_not_grow_with_facilities(
    client, world, make_facility, make_room, make_bed, extra
):
    for n in range(extra):
        facility = make_facility(world.township_a, name=f"养老院{n:02d}")
        beds(make_room, make_bed, facility, ("nursing", 2000), ("general", 1500, "occupied"))
    with count_queries() as seen:
        body = names(client, free_only="1", per_page=50)
    assert body.count('href="/public/facilities/') >= extra
    assert len(seen.selects) <= 8, str(seen)
