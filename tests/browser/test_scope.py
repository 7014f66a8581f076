"""A county officer cannot open a person of another county: the same 404 as a missing record."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.regions.models import Region
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.no_transaction]


def a_person_in_weibin(live_server) -> int:
    return live_server.query(
        lambda: db.session.scalar(
            sa.select(Person.id)
            .join(Region, Person.region_id == Region.id)
            .where(Region.code.startswith("610302"))
            .order_by(Person.id)
            .limit(1)
        )
    )


def test_person_of_another_county_is_not_found(pages, live_server):
    person_id = a_person_in_weibin(live_server)
    assert person_id is not None

    # 渭滨区's own officer opens the page: the record exists and the URL is right.
    county = pages.new()
    login(county, "county")
    assert county.goto(f"/people/{person_id}").status == 200

    # 陈仓区's officer gets the 404 page, in Chinese, without the person's name.
    county2 = pages.new()
    login(county2, "county2")
    name = county.locator("main h1").inner_text().split()[0]
    response = county2.goto(f"/people/{person_id}")
    assert response.status == 404
    assert county2.get_attribute("html", "lang") == "zh-CN"
    assert "404" in county2.locator("main h1").inner_text()
    assert name not in county2.inner_text("body")
    screenshot(county2, "scope-county2-404")

    # The same for a record that does not exist at all.
    assert county2.goto("/people/999999").status == 404
    assert pages.errors == []
