"""The bed board and bed pages: operators act through the forms, area staff only look."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import url_for

from eldercare.beds import operations as ops
from eldercare.beds.models import Stay
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from tests.builders import LOW_RISKS
from tests.querycount import count_queries


def _iso(days_ago: int) -> str:
    return (local_today() - timedelta(days=days_ago)).isoformat()


def admit_form(person, day: str | None = None, name: str | None = None) -> dict:
    return {
        "id_number": person.id_number,
        "name": name or person.name,
        "admitted_on": day or _iso(5),
        **{f"risks[{key}]": level for key, level in LOW_RISKS.items()},
    }


@pytest.fixture
def beds(world, make_room, make_bed):
    room = make_room(world.facility_a, number="201", floor=2)
    return make_bed(room, label="1"), make_bed(room, label="2", care_type="general")


def url(world, bed=None, action: str = "") -> str:
    base = f"/facilities/{world.facility_a.id}/beds"
    if bed is None:
        return base
    return f"{base}/{bed.id}" + (f"/{action}" if action else "")


def tile(html: str, bed) -> str:
    match = re.search(rf'id="bed-{bed.id}" data-status="(\w+)"', html)
    assert match, f"no tile for bed {bed.id}"
    return match.group(1)


def test_board_for_the_operator_shows_tiles_and_actions(client, auth, world, beds):
    auth.login_as(world.user("operator"))
    response = client.get(url(world))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert tile(html, beds[0]) == "vacant"
    assert beds[0].code in html
    assert "2500.00" in html
    assert f"/facilities/{world.facility_a.id}/beds/rooms" in html  # add a room


def tile_html(html: str, bed) -> str:
    """The HTML of one bed's tile on the board."""
    return html.split(f'id="bed-{bed.id}"')[1].split('id="bed-')[0]


#: A statement that reads an encrypted column (the ID number, the risk assessment).
ENCRYPTED_COLUMN = re.compile(r"person\.id_number(?!_)|stay\.risk_assessment")


def test_the_board_names_residents_and_never_reads_their_id_numbers(
    client, auth, world, beds, make_person
):
    today = local_today()
    occupied, held = beds
    operator = world.user("operator")
    other = make_person(world.village_a, name="王桂兰")
    ops.admit(occupied, world.person_a, today - timedelta(days=5), LOW_RISKS, operator)
    stay = ops.admit(held, other, today - timedelta(days=5), LOW_RISKS, operator)
    ops.start_leave(stay, today - timedelta(days=1), "", operator)
    auth.login_as(operator)
    with count_queries() as statements:
        html = client.get(url(world)).get_data(as_text=True)
    assert (tile(html, occupied), tile(html, held)) == ("occupied", "held")
    assert world.person_a.name in tile_html(html, occupied)
    assert "王桂兰" in tile_html(html, held)  # a resident on leave keeps the bed
    # The board shows names only: no ID number, and nothing encrypted is even read.
    for person in (world.person_a, other):
        assert person.id_number not in html
    assert not [s for s in statements if ENCRYPTED_COLUMN.search(s)], str(statements)


def test_the_board_tiles_in_chinese_and_in_english(client, auth, world, beds, make_room, app):
    vacant, reserved = beds
    operator = world.user("operator")
    ops.reserve(reserved, "陈大爷", utcnow() + timedelta(days=2), operator)
    make_room(world.facility_a, number="301", floor=3)  # no beds yet
    auth.login_as(operator)

    html = client.get(url(world)).get_data(as_text=True)
    assert "1 床" in tile_html(html, vacant) and "护理型床位" in tile_html(html, vacant)
    assert "¥2500.00/月" in tile_html(html, vacant)
    assert "陈大爷 · 至 " in tile_html(html, reserved) and "已预留" in tile_html(html, reserved)
    assert "该房间尚无床位。" in html
    with app.test_request_context():
        link = url_for("beds.show", facility_id=world.facility_a.id, bed_id=vacant.id)
    assert f'href="{link}"' in tile_html(html, vacant)

    html = client.get(url(world) + "?lang=en").get_data(as_text=True)
    assert "Bed 1" in tile_html(html, vacant) and "Nursing bed" in tile_html(html, vacant)
    assert "¥2500.00/month" in tile_html(html, vacant)
    assert "陈大爷 · until " in tile_html(html, reserved)
    assert "Reserved" in tile_html(html, reserved)
    assert "No beds in this room yet." in html


@pytest.mark.parametrize("role", ["county_staff", "township_staff"])
def test_area_staff_see_the_board_read_only(client, auth, world, beds, role):
    auth.login_as(world.user(role))
    html = client.get(url(world)).get_data(as_text=True)
    assert tile(html, beds[0]) == "vacant"
    assert "/rooms" not in html and "/import" not in html
    page = client.get(url(world, beds[0])).get_data(as_text=True)
    assert "/admit" not in page
    assert (
        client.post(url(world, beds[0], "admit"), data=admit_form(world.person_a)).status_code
        == 403
    )


def test_a_bed_of_another_facility_is_not_found_under_this_one(
    client, auth, world, make_room, make_bed
):
    other = make_bed(make_room(world.facility_b))
    auth.login_as(world.user("admin"))
    assert client.get(url(world, other)).status_code == 404
    assert (
        client.post(url(world, other, "admit"), data=admit_form(world.person_b)).status_code == 404
    )


def test_admit_transfer_discharge_through_the_forms(client, auth, world, beds):
    first, second = beds
    auth.login_as(world.user("operator"))
    response = client.post(url(world, first, "admit"), data=admit_form(world.person_a))
    assert response.status_code == 302, response.get_data(as_text=True)
    html = client.get(url(world)).get_data(as_text=True)
    assert tile(html, first) == "occupied"
    assert world.person_a.name in html

    response = client.post(url(world, first, "transfer"), data={"bed_id": second.id, "on": _iso(2)})
    assert response.status_code == 302, response.get_data(as_text=True)
    html = client.get(url(world)).get_data(as_text=True)
    assert (tile(html, first), tile(html, second)) == ("vacant", "occupied")

    response = client.post(
        url(world, second, "discharge"), data={"discharged_on": _iso(1), "reason": "home"}
    )
    assert response.status_code == 302
    html = client.get(url(world)).get_data(as_text=True)
    assert (tile(html, first), tile(html, second)) == ("vacant", "vacant")


def test_a_second_admission_is_refused_with_the_message_and_keeps_the_input(
    client, auth, world, beds, make_person
):
    bed = beds[0]
    auth.login_as(world.user("operator"))
    assert client.post(url(world, bed, "admit"), data=admit_form(world.person_a)).status_code == 302
    other = make_person(world.village_a, name="王桂兰")
    response = client.post(
        url(world, bed, "admit") + "?lang=en", data={**admit_form(other), "note": "家属陪同"}
    )
    # The page no longer offers an admission for an occupied bed, but a stale form is refused.
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    refused = html.split('id="refused"')[1][:300]
    assert f"Floor 2 · Room 201 · Bed 1 ({bed.code}) is not free (Occupied)" in refused
    assert 'value="家属陪同"' in html and 'value="王桂兰"' in html
    stays = db.session.scalars(db.select(Stay).where(Stay.bed_id == bed.id)).all()
    assert [s.person_id for s in stays] == [world.person_a.id]


def test_admission_refused_when_the_name_does_not_match(client, auth, world, beds):
    auth.login_as(world.user("operator"))
    response = client.post(
        url(world, beds[0], "admit") + "?lang=en", data=admit_form(world.person_a, name="别人")
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "No registered person has this ID number and name" in html
    assert 'value="别人"' in html  # what was typed is kept
    assert html.count('value="low" selected') == 9


def test_missing_risks_are_refused(client, auth, world, beds):
    auth.login_as(world.user("operator"))
    form = admit_form(world.person_a)
    del form["risks[choking]"]
    response = client.post(url(world, beds[0], "admit"), data=form)
    assert response.status_code == 422
    assert db.session.scalar(db.select(Stay).where(Stay.bed_id == beds[0].id)) is None


def test_death_discharge_writes_the_registry_death_date(client, auth, world, beds):
    today = local_today()
    bed = beds[0]
    auth.login_as(world.user("operator"))
    client.post(url(world, bed, "admit"), data=admit_form(world.person_a, _iso(30)))
    response = client.post(
        url(world, bed, "discharge"), data={"discharged_on": _iso(3), "reason": "death"}
    )
    assert response.status_code == 302
    db.session.refresh(world.person_a)
    assert world.person_a.death_date == today - timedelta(days=3)


def test_the_history_answers_who_was_in_the_bed_on_a_past_day(
    client, auth, world, beds, make_person
):
    today = local_today()
    bed = beds[0]
    admin = world.user("admin")
    earlier = make_person(world.village_a, name="刘秀珍")
    stay = ops.admit(bed, earlier, today - timedelta(days=60), LOW_RISKS, admin)
    ops.discharge(stay, today - timedelta(days=40), "home", admin)
    ops.admit(bed, world.person_a, today - timedelta(days=20), LOW_RISKS, admin)
    auth.login_as(world.user("county_staff"))
    html = client.get(url(world, bed) + f"?on={_iso(50)}").get_data(as_text=True)
    answer = re.search(r'id="resident-on-answer">(.*?)</div>', html, re.S).group(1)
    assert "刘秀珍" in answer
    html = client.get(url(world, bed) + f"?on={_iso(30)}").get_data(as_text=True)
    answer = re.search(r'id="resident-on-answer">(.*?)</div>', html, re.S).group(1)
    assert "刘秀珍" not in answer and world.person_a.name not in answer
    assert "刘秀珍" in html and world.person_a.name in html  # the stays table
    assert client.get(url(world, bed) + "?on=not-a-date").status_code == 200


def test_leave_reserve_and_outage_through_the_forms(client, auth, world, beds):
    today = local_today()
    first, second = beds
    auth.login_as(world.user("operator"))
    client.post(url(world, first, "admit"), data=admit_form(world.person_a))
    assert client.post(url(world, first, "leave"), data={"start_on": _iso(1)}).status_code == 302
    assert tile(client.get(url(world)).get_data(as_text=True), first) == "held"
    assert client.post(url(world, first, "leave/end"), data={"end_on": _iso(0)}).status_code == 302
    expires = (today + timedelta(days=2)).isoformat() + "T12:00"
    response = client.post(
        url(world, second, "reserve"), data={"holder_name": "陈大爷", "expires_at": expires}
    )
    assert response.status_code == 302
    html = client.get(url(world)).get_data(as_text=True)
    assert tile(html, second) == "reserved" and "陈大爷" in html
    response = client.post(
        url(world, second, "out-of-service"), data={"reason": "维修", "start_on": _iso(0)}
    )
    assert response.status_code == 409
    assert 'value="维修"' in response.get_data(as_text=True)
    assert client.post(url(world, second, "release")).status_code == 302
    response = client.post(
        url(world, second, "out-of-service"), data={"reason": "维修", "start_on": _iso(0)}
    )
    assert response.status_code == 302
    assert tile(client.get(url(world)).get_data(as_text=True), second) == "out_of_service"
    response = client.post(url(world, second, "back-in-service"), data={"on": _iso(0)})
    assert response.status_code == 302
    assert tile(client.get(url(world)).get_data(as_text=True), second) == "vacant"


def test_add_room_and_bed_from_the_board(client, auth, world):
    auth.login_as(world.user("operator"))
    response = client.post(url(world) + "/rooms", data={"floor": "3", "number": "301"})
    assert response.status_code == 302
    response = client.post(url(world) + "/rooms", data={"floor": "3", "number": "301"})
    assert response.status_code == 409
    room_id = int(
        re.search(r'<option value="(\d+)"[^>]*>[^<]*301', response.get_data(as_text=True)).group(1)
    )
    response = client.post(
        url(world) + "/new",
        data={"room_id": room_id, "label": "A", "care_type": "dementia", "monthly_price": "3200.5"},
    )
    assert response.status_code == 302
    html = client.get(url(world)).get_data(as_text=True)
    assert "3200.50" in html


def test_a_run_out_reservation_shows_the_bed_free_and_no_page_writes(client, auth, world, beds):
    """GET never writes: the board, the bed page and the API show a bed whose reservation
    has run out as vacant, as after the job; only the job ends the reservation."""
    today = local_today()
    import sqlalchemy as sa

    from eldercare.auth.operations import create_token
    from eldercare.beds import tasks
    from eldercare.beds.models import Bed, Reservation
    from eldercare.core.audit import AuditLog as AuditEntry

    operator = world.user("operator")
    ops.admit(beds[1], world.person_a, today, LOW_RISKS, operator)
    ops.reserve(beds[0], "王先生", utcnow() + timedelta(hours=1), operator)
    reservation = db.session.scalar(sa.select(Reservation).where(Reservation.bed_id == beds[0].id))
    reservation.expires_at = utcnow() - timedelta(minutes=5)
    token = {"Authorization": f"Bearer {create_token(operator, 'test', 1)[1]}"}
    db.session.commit()
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))

    auth.login_as(operator)
    board = client.get(url(world)).get_data(as_text=True)
    assert tile(board, beds[0]) == "vacant"
    assert "王先生 · " not in board  # no holder on the tile
    page = client.get(url(world, beds[0])).get_data(as_text=True)
    assert 'id="bed-status">空闲' in page or 'id="bed-status">Vacant' in page
    assert 'id="reserve"' in page and 'id="admit-reserved"' not in page
    # The bed is offered as a transfer target from the other bed's page.
    assert f'value="{beds[0].id}"' in client.get(url(world, beds[1])).get_data(as_text=True)
    assert client.get(f"/api/v1/beds/{beds[0].id}", headers=token).json["bed"]["status"] == (
        "vacant"
    )
    listed = client.get(
        f"/api/v1/beds/?facility_id={world.facility_a.id}&status=vacant", headers=token
    ).json
    assert beds[0].id in {bed["id"] for bed in listed}
    reserved = f"/api/v1/beds/?facility_id={world.facility_a.id}&status=reserved"
    assert client.get(reserved, headers=token).json == []

    db.session.expire_all()
    assert db.session.get(Reservation, reservation.id).ended_at is None
    assert db.session.get(Bed, beds[0].id).status == "reserved"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audits

    # The job ends it, at the time it ran out.
    assert tasks.expire_reservations() == 1
    db.session.expire_all()
    assert db.session.get(Reservation, reservation.id).ended_at == reservation.expires_at
    assert db.session.get(Bed, beds[0].id).status == "vacant"
