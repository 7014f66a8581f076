"""A county's settings page: its own staff and administrators view and change the bounds,
validated, audited, and the beds feature follows them at once."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from eldercare.regions.models import CountySettings
from eldercare.regions.operations import county_settings_for


def url(region) -> str:
    return f"/regions/{region.id}/settings"


GOOD = {"subsidy_periods_ahead": "2", "bed_price_min": "800", "bed_price_max": "12000.50"}


def test_county_staff_find_the_page_from_their_region_and_see_the_defaults(client, auth, world):
    auth.login_as(world.user("county_staff"))
    regions = client.get(f"/regions/{world.county_a.id}").get_data(as_text=True)
    assert f'href="{url(world.county_a)}"' in regions
    township = client.get(f"/regions/{world.township_a.id}").get_data(as_text=True)
    assert "/settings" not in township  # a township has no county settings
    html = client.get(url(world.county_a)).get_data(as_text=True)
    assert "县级设置" in html
    assert 'value="300.00"' in html and 'value="30000.00"' in html and 'value="1"' in html


def test_saving_changes_the_bounds_and_is_audited(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.post(url(world.county_a), data=GOOD)
    assert response.status_code == 302
    saved = county_settings_for(world.township_a)
    assert (saved.subsidy_periods_ahead, saved.bed_price_min_fen, saved.bed_price_max_fen) == (
        2,
        80_000,
        1_200_050,
    )
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "county_settings.updated")
    )
    assert entry.region_id == world.county_a.id
    assert entry.changes["bed_price_min_fen"] == [30_000, 80_000]
    assert entry.actor_name == world.user("county_staff").username
    page = client.get(url(world.county_a) + "?lang=en").get_data(as_text=True)
    assert "Last changed" in page and 'value="800.00"' in page
    # Saving the same values again changes nothing and writes no second entry.
    client.post(url(world.county_a), data=GOOD)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "county_settings.updated")
        )
        == 1
    )


def test_wrong_values_are_refused_with_what_was_typed(client, auth, world):
    auth.login_as(world.user("county_staff"))
    cases = [
        ({**GOOD, "subsidy_periods_ahead": "13"}, "subsidy_periods_ahead", "Between 0 and 12"),
        ({**GOOD, "bed_price_min": "-5"}, "bed_price_min", "cannot be negative"),
        ({**GOOD, "bed_price_max": "2000000"}, "bed_price_max", "1,000,000"),
        ({**GOOD, "bed_price_min": "5000", "bed_price_max": "300"}, "bed_price_max", "above"),
        ({**GOOD, "bed_price_min": "12.345"}, "bed_price_min", "two decimals"),
        ({**GOOD, "bed_price_max": "很多"}, "bed_price_max", ""),
    ]
    for form, field, message in cases:
        response = client.post(url(world.county_a) + "?lang=en", data=form)
        assert response.status_code == 422, form
        html = response.get_data(as_text=True)
        assert message in html
        assert f'name="{field}"' in html and f'value="{form[field]}"' in html
    assert db.session.scalar(sa.select(CountySettings)) is None


def test_every_mistake_is_shown_at_once(client, auth, world):
    auth.login_as(world.user("county_staff"))
    form = {"subsidy_periods_ahead": "20", "bed_price_min": "5000", "bed_price_max": "300"}
    html = client.post(url(world.county_a) + "?lang=en", data=form).get_data(as_text=True)
    assert "Between 0 and 12" in html and "must be above the lowest" in html


def test_another_county_and_other_roles_cannot_reach_it(client, auth, world):
    auth.login_as(world.user("county_staff"))
    assert client.get(url(world.county_b)).status_code == 404
    assert client.post(url(world.county_b), data=GOOD).status_code == 404
    assert client.get(url(world.township_a)).status_code == 404  # not a county
    auth.login_as(world.user("operator"))
    assert client.get(url(world.county_a)).status_code == 403
    auth.login_as(world.user("admin"))
    assert client.post(url(world.county_b), data=GOOD).status_code == 302


def test_the_bed_forms_follow_the_saved_range(client, auth, world, make_room):
    auth.login_as(world.user("county_staff"))
    client.post(url(world.county_a), data=GOOD)
    room = make_room(world.facility_a)
    auth.login_as(world.user("operator"))
    response = client.post(
        f"/facilities/{world.facility_a.id}/beds/new?lang=en",
        data={"room_id": room.id, "label": "1", "care_type": "nursing", "monthly_price": "500"},
    )
    assert response.status_code == 422
    assert "between ¥800 and ¥12,000.50" in response.get_data(as_text=True)
