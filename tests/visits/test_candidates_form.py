"""Enrolling many people at once, refused: the candidates come back with the people ticked
still ticked and the refusal naming the person it is about; nobody is enrolled."""

from __future__ import annotations

import lxml.html
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.visits.models import CareTarget
from tests.builders import build_person


def _ticked(html: str) -> set[str]:
    tree = lxml.html.fromstring(html)
    return {el.get("value") for el in tree.xpath("//input[@name='person_ids'][@checked]")}


def _targets() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CareTarget))


def test_a_person_who_cannot_be_enrolled_is_named_and_the_ticks_are_kept(world, client, auth):
    alive = build_person(world.village_a, name="周桂香", lives_alone=True)
    died = build_person(world.village_a, name="吴秀珍", lives_alone=True)
    auth.login_as(world.user("township_staff"))
    assert f'value="{died.id}"' in client.get("/visits/candidates").get_data(as_text=True)
    died.death_date = local_today()  # recorded by a colleague while the list was open
    db.session.flush()
    response = client.post("/visits/candidates", data={"person_ids": [alive.id, died.id]})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    alert = lxml.html.fromstring(html).get_element_by_id("enrol-refused").text_content()
    assert "吴秀珍：此人已去世。" in alert and "仍保持勾选" in alert
    assert str(alive.id) in _ticked(html)
    assert _targets() == 0


def test_a_person_of_another_area_is_refused_with_the_ticks_kept(world, client, auth):
    mine = build_person(world.village_a, lives_alone=True)
    auth.login_as(world.user("township_staff"))
    response = client.post("/visits/candidates", data={"person_ids": [mine.id, world.person_b.id]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "alert-danger" in html and _ticked(html) == {str(mine.id)}
    assert _targets() == 0


def test_the_list_page_chosen_is_kept_through_the_post(world, client, auth):
    auth.login_as(world.user("township_staff"))
    html = client.get("/visits/candidates?page=2").get_data(as_text=True)
    assert 'action="/visits/candidates?page=2"' in html
