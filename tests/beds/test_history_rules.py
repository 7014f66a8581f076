"""Rules that keep a bed's history consistent: reservations for a person, back-dated moves,
outages, leaves, and deaths recorded elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eldercare.beds import operations as ops
from eldercare.beds.models import Bed, Reservation
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError
from eldercare.extensions import db
from tests.builders import LOW_RISKS


@pytest.fixture
def beds(world, make_room, make_bed):
    room = make_room(world.facility_a, "301")
    return [make_bed(room, str(n)) for n in (1, 2)]


def test_a_reservation_for_a_person_lets_exactly_them_in_through_the_api(
    client, auth, world, beds, make_person
):
    today = local_today()
    person, other = make_person(world.village_a), make_person(world.village_a)
    auth.login_as(world.user("operator"))
    expires = (utcnow() + timedelta(days=3)).isoformat()
    reserved = client.post(
        f"/api/v1/beds/{beds[0].id}/reserve",
        json={
            "holder_name": person.name,
            "id_number": person.id_number,
            "name": person.name,
            "expires_at": expires,
        },
    )
    assert reserved.status_code == 201
    body = {"admitted_on": today.isoformat(), "risks": LOW_RISKS}
    refused = client.post(
        f"/api/v1/beds/{beds[0].id}/admit",
        json=body | {"id_number": other.id_number, "name": other.name},
    )
    assert refused.status_code == 409
    admitted = client.post(
        f"/api/v1/beds/{beds[0].id}/admit",
        json=body | {"id_number": person.id_number, "name": person.name},
    )
    assert admitted.status_code == 201


def test_a_reservation_names_both_id_number_and_name_or_neither(client, auth, world, beds):
    auth.login_as(world.user("operator"))
    response = client.post(
        f"/api/v1/beds/{beds[0].id}/reserve",
        json={
            "holder_name": "x",
            "id_number": "610302195003151234",
            "expires_at": (utcnow() + timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 422 and "id_number" in response.json["errors"]


def test_admission_elsewhere_ends_the_persons_reservation(world, beds, make_person):
    today = local_today()
    operator = world.user("operator")
    person = make_person(world.village_a)
    ops.reserve(beds[0], person.name, utcnow() + timedelta(days=2), operator, person=person)
    ops.admit(beds[1], person, today, LOW_RISKS, operator)
    db.session.expire_all()
    assert db.session.get(Bed, beds[0].id).status == "vacant"
    assert db.session.query(Reservation).one().end_reason == "admitted"


def test_a_back_dated_transfer_cannot_overlap_the_target_beds_history(world, beds, make_person):
    today = local_today()
    operator = world.user("operator")
    earlier, mover = make_person(world.village_a), make_person(world.village_a)
    old = ops.admit(beds[1], earlier, today - timedelta(days=30), LOW_RISKS, operator)
    ops.discharge(old, today - timedelta(days=5), "home", operator)
    stay = ops.admit(beds[0], mover, today - timedelta(days=40), LOW_RISKS, operator)
    with pytest.raises(AppError) as refused:
        ops.transfer(stay, beds[1], today - timedelta(days=20), operator)
    assert refused.value.code == 409


def test_outage_dates_are_checked(world, beds, make_person):
    today = local_today()
    operator = world.user("operator")
    with pytest.raises(AppError):
        ops.take_out_of_service(beds[0], "维修", today + timedelta(days=3), operator)
    person = make_person(world.village_a)
    stay = ops.admit(beds[0], person, today - timedelta(days=10), LOW_RISKS, operator)
    ops.discharge(stay, today - timedelta(days=2), "home", operator)
    with pytest.raises(AppError) as refused:  # back into a time someone lived there
        ops.take_out_of_service(beds[0], "维修", today - timedelta(days=5), operator)
    assert refused.value.code == 409
    ops.take_out_of_service(beds[1], "维修", today - timedelta(days=6), operator)
    ops.return_to_service(beds[1], today - timedelta(days=1), operator)
    with pytest.raises(AppError) as inside:  # an admission dated inside the outage
        ops.admit(
            beds[1], make_person(world.village_a), today - timedelta(days=3), LOW_RISKS, operator
        )
    assert inside.value.code == 409


def test_leaves_stay_inside_their_stay(world, beds, make_person):
    today = local_today()
    operator = world.user("operator")
    stay = ops.admit(
        beds[0], make_person(world.village_a), today - timedelta(days=20), LOW_RISKS, operator
    )
    ops.start_leave(stay, today - timedelta(days=5), "探亲", operator)
    with pytest.raises(AppError):  # a discharge before the leave began
        ops.discharge(stay, today - timedelta(days=8), "home", operator)
    with pytest.raises(AppError) as moving:  # moving someone who is away
        ops.transfer(stay, beds[1], today, operator)
    assert moving.value.code == 409
    ops.end_leave(stay, today - timedelta(days=2), operator)
    with pytest.raises(AppError):  # a new leave overlapping the last one
        ops.start_leave(stay, today - timedelta(days=3), "again", operator)


def test_a_township_may_record_the_death_of_a_resident_which_closes_the_stay(
    client, auth, world, beds, make_person
):
    """Once refused (a death was recorded by the discharge only); now the registry's one
    writer records it from anywhere, and the stay follows it."""
    today = local_today()
    person = make_person(world.village_a)
    stay = ops.admit(beds[0], person, today - timedelta(days=3), LOW_RISKS, world.user("operator"))
    auth.login_as(world.user("township_staff"))
    response = client.put(
        f"/api/v1/people/{person.id}",
        json={
            "name": person.name,
            "region_id": world.village_a.id,
            "death_date": today.isoformat(),
        },
    )
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert (stay.discharged_on, stay.discharge_reason) == (today, "death")
    assert db.session.get(Bed, beds[0].id).status == "vacant"


def test_the_operator_sees_the_risk_assessment_and_staff_do_not(
    client, auth, world, beds, make_person
):
    today = local_today()
    risks = dict(LOW_RISKS, fall="high")
    ops.admit(beds[0], make_person(world.village_a), today, risks, world.user("operator"))
    url = f"/facilities/{world.facility_a.id}/beds/{beds[0].id}"
    auth.login_as(world.user("operator"))
    page = client.get(url).get_data(as_text=True)
    assert 'id="risks"' in page and "text-danger fw-bold" in page
    auth.login_as(world.user("county_staff"))
    assert 'id="risks"' not in client.get(url).get_data(as_text=True)
