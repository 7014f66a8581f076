"""A bed is named by floor / room / bed (not by its opaque code alone); refusals say what
to do; the bed's history keeps both notes and a transferred resident's first admission."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.operations import create_token
from eldercare.beds import operations as ops
from eldercare.beds.models import Stay
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from tests.builders import LOW_RISKS, build_person


@pytest.fixture
def beds(world, make_room, make_bed):
    room = make_room(world.facility_a, number="301", floor=3)
    return make_bed(room, label="1"), make_bed(room, label="2")


def page(world, bed, action=""):
    return f"/facilities/{world.facility_a.id}/beds/{bed.id}" + (f"/{action}" if action else "")


def admit_form(person, day=None, **extra):
    today = local_today()
    return {
        "id_number": person.id_number,
        "name": person.name,
        "admitted_on": (day or today - timedelta(days=20)).isoformat(),
        **{f"risks[{key}]": level for key, level in LOW_RISKS.items()},
        **extra,
    }


def with_wrong_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


# --- refusals that say what to do ------------------------------------------------------------


def test_admitting_someone_else_to_a_reserved_bed_names_the_holder_and_the_remedy(
    client, auth, world, beds
):
    holder = build_person(world.village_a, name="李桂芳")
    ops.reserve(beds[0], "李桂芳", utcnow() + timedelta(days=3), world.user("admin"), person=holder)
    auth.login_as(world.user("operator"))
    before = client.get(page(world, beds[0]) + "?lang=en").get_data(as_text=True)
    offer = before.split('id="admit-reserved"')[1].split("</details>")[0]
    assert "Reserved for 李桂芳" in offer and "release the reservation first" in offer
    assert f'action="{page(world, beds[0], "release")}"' in offer  # the button is right there

    response = client.post(
        page(world, beds[0], "admit") + "?lang=en", data=admit_form(world.person_a)
    )
    assert response.status_code == 409
    refused = response.get_data(as_text=True).split('class="alert alert-danger py-2 refusal"')[1][
        :600
    ]
    assert "is reserved for 李桂芳 until" in refused
    assert "admit that person" in refused and "release the reservation first" in refused
    assert "Floor 3 · Room 301 · Bed 1" in refused
    # The holder is admitted into the bed kept for them.
    ok = client.post(page(world, beds[0], "admit"), data=admit_form(holder))
    assert ok.status_code == 302


def test_a_reservation_by_name_only_says_to_release_it_first(client, world, beds):
    today = local_today()
    ops.reserve(beds[0], "王大爷", utcnow() + timedelta(days=3), world.user("admin"))
    secret = create_token(world.user("operator"), "test", 1)[1]
    body = {
        "id_number": world.person_a.id_number,
        "name": world.person_a.name,
        "admitted_on": today.isoformat(),
        "risks": LOW_RISKS,
    }
    response = client.post(
        f"/api/v1/beds/{beds[0].id}/admit?lang=en",
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 409
    assert "reserved for 王大爷" in response.json["message"]
    assert "a name only" in response.json["message"]


def test_the_admit_form_of_a_name_only_reservation_says_to_release_it(client, auth, world, beds):
    ops.reserve(beds[0], "王大爷", utcnow() + timedelta(days=3), world.user("admin"))
    auth.login_as(world.user("operator"))
    html = client.get(page(world, beds[0]) + "?lang=en").get_data(as_text=True)
    offer = html.split('id="admit-reserved"')[1].split("</form>")[0]
    assert "a name only" in offer and "only that person can be admitted" not in offer


def test_the_refusal_is_in_chinese(client, auth, world, beds):
    ops.reserve(beds[0], "王大爷", utcnow() + timedelta(days=3), world.user("admin"))
    auth.login_as(world.user("operator"))
    html = client.post(page(world, beds[0], "admit"), data=admit_form(world.person_a)).get_data(
        as_text=True
    )
    assert "已为 王大爷 预留至" in html and "请先取消预留" in html


@pytest.mark.parametrize("action", ["admit", "reserve"])
def test_a_wrong_check_digit_says_so(client, auth, world, beds, action):
    today = local_today()
    auth.login_as(world.user("operator"))
    number = with_wrong_check_digit(world.person_a.id_number)
    if action == "admit":
        form = {**admit_form(world.person_a), "id_number": number}
    else:
        form = {
            "holder_name": world.person_a.name,
            "id_number": number,
            "name": world.person_a.name,
            "expires_at": (today + timedelta(days=3)).isoformat() + "T12:00",
        }
    response = client.post(page(world, beds[0], action) + "?lang=en", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The check digit is wrong" in html
    assert "No registered person" not in html
    assert f'value="{number}"' in html


# --- one label for a bed ----------------------------------------------------------------------


def test_the_bed_page_and_the_transfer_choices_name_floor_room_and_bed(client, auth, world, beds):
    today = local_today()
    ops.admit(beds[0], world.person_a, today - timedelta(days=9), LOW_RISKS, world.user("admin"))
    auth.login_as(world.user("operator"))
    html = client.get(page(world, beds[0]) + "?lang=en").get_data(as_text=True)
    assert '<h1 class="h3 mb-0" id="bed-title">Floor 3 · Room 301 · Bed 1</h1>' in html
    assert f'<option value="{beds[1].id}" >Floor 3 · Room 301 · Bed 2 ({beds[1].code})' in html


def test_refusals_and_the_audit_name_the_bed_by_its_place(world, beds):
    today = local_today()
    ops.admit(beds[0], world.person_a, today - timedelta(days=9), LOW_RISKS, world.user("admin"))
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "stay.admitted"))
    assert entry.changes["bed"][1] == beds[0].title
    assert "301" in beds[0].title and beds[0].code in beds[0].title


# --- the bed's history ------------------------------------------------------------------------


def test_admission_and_discharge_notes_are_both_in_the_history(client, auth, world, beds):
    today = local_today()
    auth.login_as(world.user("operator"))
    client.post(page(world, beds[0], "admit"), data=admit_form(world.person_a, note="家属陪同入住"))
    client.post(
        page(world, beds[0], "discharge"),
        data={"discharged_on": today.isoformat(), "reason": "home", "note": "女儿接回家"},
    )
    stay = db.session.scalar(sa.select(Stay))
    assert (stay.note, stay.discharge_note) == ("家属陪同入住", "女儿接回家")
    html = client.get(page(world, beds[0])).get_data(as_text=True)
    stays = html.split('id="stays"')[1].split("</table>")[0]
    assert "入住: 家属陪同入住" in stays and "退住: 女儿接回家" in stays


def test_after_a_transfer_the_first_admission_date_stays_visible(client, auth, world, beds):
    today = local_today()
    first_day = today - timedelta(days=40)
    moved_day = today - timedelta(days=5)
    auth.login_as(world.user("operator"))
    client.post(page(world, beds[0], "admit"), data=admit_form(world.person_a, day=first_day))
    moved = client.post(
        page(world, beds[0], "transfer"), data={"bed_id": beds[1].id, "on": moved_day.isoformat()}
    )
    assert moved.status_code == 302
    html = client.get(page(world, beds[1]) + "?lang=en").get_data(as_text=True)
    assert f'id="admitted-on">Admitted on {first_day.isoformat()}' in html
    assert (
        f"In this bed since {moved_day.isoformat()} (moved from Floor 3 · Room 301 · Bed 1)" in html
    )
    stays = html.split('id="stays"')[1].split("</table>")[0]
    assert f"admitted {first_day.isoformat()}" in stays

    secret = create_token(world.user("operator"), "test", 1)[1]
    api = client.get(f"/api/v1/beds/{beds[1].id}", headers={"Authorization": f"Bearer {secret}"})
    assert api.json["stay"]["first_admitted_on"] == first_day.isoformat()
    assert api.json["stay"]["admitted_on"] == moved_day.isoformat()
    assert api.json["bed"]["title"].endswith(f"({beds[1].code})")
