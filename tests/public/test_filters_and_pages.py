"""A refused search filter is named and the others still apply; a page past the end of a
list says so and links to the last page (every list paginated by ``list_page``)."""

from __future__ import annotations

import lxml.html

from eldercare.extensions import db
from tests.public.test_search import beds


def alerts(body: str) -> list[str]:
    tree = lxml.html.fromstring(body)
    return [" ".join(a.text_content().split()) for a in tree.xpath("//div[@role='alert']")]


def test_a_bad_filter_is_named_and_the_others_still_apply(client, world, make_room, make_bed):
    beds(make_room, make_bed, world.facility_a, ("nursing", 2000))
    beds(make_room, make_bed, world.facility_b, ("nursing", 2000))
    response = client.get(
        "/public/facilities", query_string={"region_id": world.township_a.id, "min_price": "abc"}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    [notice] = [a for a in alerts(body) if "筛选条件" in a]
    assert "“最低（元）”" in notice
    assert "已忽略" in notice and "其他条件仍然有效" in notice
    # The township filter was kept: only its facility is listed.
    assert "马营镇敬老院" in body and "阳平养老院" not in body


def test_a_bad_registry_filter_keeps_the_others(client, auth, world, make_person):
    make_person(world.village_a, name="王大娘")
    auth.login_as(world.user("township_staff"))
    body = client.get("/people/", query_string={"q": "王", "min_age": "x"}).get_data(as_text=True)
    [notice] = [a for a in alerts(body) if "筛选条件" in a]
    assert "年龄" in notice
    assert "王大娘" in body and world.person_a.name not in body


def test_a_page_past_the_end_links_to_the_last_page(client, world, make_facility):
    for n in range(3):
        make_facility(world.township_a, name=f"养老院{n}")
    db.session.flush()
    body = client.get("/public/facilities", query_string={"per_page": 2, "page": 9}).get_data(
        as_text=True
    )
    tree = lxml.html.fromstring(body)
    [link] = tree.xpath("//a[@id='last-page']")
    assert "此页已超出列表末尾" in link.getparent().text_content()
    last = link.get("href")
    assert "page=3" in last and "per_page=2" in last
    assert client.get(last).status_code == 200
    assert not lxml.html.fromstring(client.get(last).get_data(as_text=True)).xpath(
        "//a[@id='last-page']"
    )


def test_a_past_the_end_page_of_an_empty_list_says_nothing_of_a_last_page(client, auth, world):
    auth.login_as(world.user("township_staff"))
    body = client.get("/people/links", query_string={"page": 4}).get_data(as_text=True)
    assert "last-page" not in body
