"""Beds follow the registry's life events (issue 19): a death recorded anywhere closes the
resident's stay on the date of death and frees the bed, ends a reservation kept for the
person, and tells the facility when someone else recorded it; a discharge with reason death
records the death through the registry's one writer; the nightly sweep repairs what a death
written past the registry left open."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.beds import operations as ops
from eldercare.beds import tasks
from eldercare.beds.models import Bed, Leave, Reservation, Stay
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.daycare.models import Member
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people import life_events
from eldercare.people.models import LifeEvent, Person
from tests.builders import LOW_RISKS
from tests.daycare.helpers import make_center, make_member


@pytest.fixture
def beds(world, make_room, make_bed):
    room = make_room(world.facility_a, "401")
    return [make_bed(room, str(n)) for n in (1, 2)]


@pytest.fixture
def resident(world, beds, make_person):
    admitted = local_today() - timedelta(days=30)
    person = make_person(world.village_a)
    stay = ops.admit(beds[0], person, admitted, LOW_RISKS, world.user("operator"))
    return person, stay


def _told(user) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.user_id == user.id,
                OutboxMessage.idempotency_key.like("stay-ended-death:%"),
            )
        )
    )


def _fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def _bed_now(bed: Bed) -> str:
    return ops.state.bed_now(_fresh(Bed, bed.id)).shown_status


def test_a_death_recorded_by_the_township_closes_the_stay_and_tells_the_facility(
    world, beds, resident
):
    died = local_today() - timedelta(days=2)
    person, stay = resident
    other = world.person_a  # someone else's reservation is left alone
    ops.reserve(beds[1], other.name, utcnow() + timedelta(days=2), world.user("operator"), other)

    recorded = life_events.record_death(person, died, world.user("township_staff"))

    closed = _fresh(Stay, stay.id)
    assert (closed.discharged_on, closed.discharge_reason) == (died, "death")
    assert _bed_now(beds[0]) == "vacant"
    assert _bed_now(beds[1]) == "reserved"
    beds_effects = [e for e in recorded.effects if e.feature == "beds"]
    assert len(beds_effects) == 1
    assert died.isoformat() in str(beds_effects[0].text)
    assert world.facility_a.name in str(beds_effects[0].family)
    assert recorded.event.effects[0][0] == "beds"
    notices = _told(world.user("operator"))
    assert [n.channel for n in notices] == ["inapp"]
    assert person.name in notices[0].subject and died.isoformat() in notices[0].body


def test_a_death_recorded_by_the_facility_itself_tells_no_operator(world, beds, resident):
    died = local_today() - timedelta(days=2)
    person, stay = resident
    life_events.record_death(person, died, world.user("operator"), facility_id=world.facility_a.id)
    assert _fresh(Stay, stay.id).discharged_on == died
    assert _told(world.user("operator")) == []


def test_a_reservation_for_the_dead_ends_and_the_bed_is_free(world, beds, make_person):
    died = local_today() - timedelta(days=2)
    person = make_person(world.village_a)
    ops.reserve(beds[1], person.name, utcnow() + timedelta(days=2), world.user("operator"), person)
    recorded = life_events.record_death(person, died, world.user("township_staff"))
    reservation = db.session.scalar(
        sa.select(Reservation).where(Reservation.person_id == person.id)
    )
    assert reservation.ended_at is not None and reservation.end_reason == "death"
    assert _bed_now(beds[1]) == "vacant"
    assert any(e.feature == "beds" and e.family is None for e in recorded.effects)
    assert _told(world.user("operator")) == []  # no stay of theirs ended


def test_a_leave_in_progress_ends_on_the_date_of_death(world, beds, resident):
    today = local_today()
    died = today - timedelta(days=2)
    person, stay = resident
    ops.start_leave(stay, today - timedelta(days=5), "住院", world.user("operator"))
    life_events.record_death(person, died, world.user("township_staff"))
    leave = db.session.scalar(sa.select(Leave).where(Leave.stay_id == stay.id))
    assert leave.end_on == died
    assert _bed_now(beds[0]) == "vacant"


def test_the_same_death_again_changes_nothing(world, beds, resident):
    died = local_today() - timedelta(days=2)
    person, _stay = resident
    life_events.record_death(person, died, world.user("township_staff"))
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    again = life_events.record_death(person, died, world.user("county_staff"))
    assert again.already_known and again.event is None
    # The operation itself, run once more (a sweep, a feed): nothing open, nothing done.
    assert ops.close_for_death(_fresh(Person, person.id), died, None).count == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == entries
    assert len(_told(world.user("operator"))) == 1


def test_a_move_out_of_the_county_ends_no_stay(world, beds, resident):
    died = local_today() - timedelta(days=2)
    person, stay = resident
    recorded = life_events.record_move_out(person, died, world.user("township_staff"))
    assert _fresh(Stay, stay.id).discharged_on is None
    assert not [e for e in recorded.effects if e.feature == "beds"]


def test_a_death_before_the_admission_is_refused_and_nothing_is_written(
    client, auth, world, beds, resident
):
    admitted = local_today() - timedelta(days=30)
    person, stay = resident
    day = admitted - timedelta(days=1)
    auth.login_as(world.user("township_staff"))
    answer = client.post(f"/people/{person.id}/death", data={"death_date": day.isoformat()})
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert day.isoformat() in page and admitted.isoformat() in page
    assert _fresh(Person, person.id).death_date is None
    assert _fresh(Stay, stay.id).discharged_on is None
    assert (
        db.session.scalar(sa.select(LifeEvent.id).where(LifeEvent.person_id == person.id)) is None
    )
    with pytest.raises(Conflict):
        ops.close_for_death(_fresh(Person, person.id), day, None)


def _discharge(client, world, bed, day, reason="death"):
    return client.post(
        f"/facilities/{world.facility_a.id}/beds/{bed.id}/discharge",
        data={"discharged_on": day.isoformat(), "reason": reason, "note": ""},
    )


def test_a_discharge_with_death_records_it_once_and_ends_the_day_care_too(
    client, auth, world, beds, resident
):
    today = local_today()
    admitted = today - timedelta(days=30)
    died = today - timedelta(days=2)
    person, stay = resident
    make_center(world.facility_a)
    member = make_member(world.facility_a, person, joined=admitted)
    auth.login_as(world.user("operator"))
    answer = _discharge(client, world, beds[0], died)
    assert answer.status_code == 302
    events = db.session.execute(
        sa.select(
            LifeEvent.kind, LifeEvent.source, LifeEvent.source_ref, LifeEvent.facility_id
        ).where(LifeEvent.person_id == person.id)
    ).all()
    assert events == [("death", "discharge", f"stay:{stay.id}", world.facility_a.id)]
    assert _fresh(Person, person.id).death_date == died
    assert _fresh(Stay, stay.id).discharge_reason == "death"
    assert _fresh(Member, member.id).left_on == died
    assert _bed_now(beds[0]) == "vacant"
    event = db.session.scalar(sa.select(LifeEvent).where(LifeEvent.person_id == person.id))
    assert {feature for feature, _text in event.effects} >= {"beds", "daycare"}
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    for _feature, text in event.effects:
        assert text in page
    assert _told(world.user("operator")) == []  # the facility recorded it itself
    # The old second writer is gone: the registry holds one death, recorded once.
    updates = db.session.scalars(
        sa.select(AuditLog.action).where(
            AuditLog.entity_type == "Person", AuditLog.entity_id == person.id
        )
    ).all()
    assert updates.count("person.death") == 1 and "person.updated" not in updates


def test_a_discharge_for_a_death_the_registry_dates_otherwise_is_refused(
    client, auth, world, beds, resident
):
    died = local_today() - timedelta(days=2)
    person, stay = resident
    person.death_date = died - timedelta(days=1)  # written past the registry's one writer
    db.session.commit()
    auth.login_as(world.user("operator"))
    answer = client.post(
        f"/api/v1/beds/{beds[0].id}/discharge",
        json={"discharged_on": died.isoformat(), "reason": "death"},
    )
    assert answer.status_code == 409
    assert "discharged_on" in answer.json["errors"]
    assert _fresh(Stay, stay.id).discharged_on is None
    assert (
        db.session.scalar(sa.select(LifeEvent.id).where(LifeEvent.person_id == person.id)) is None
    )


def test_the_api_discharge_answers_the_stay_and_what_followed(client, auth, world, beds, resident):
    today = local_today()
    died = today - timedelta(days=2)
    person, stay = resident
    auth.login_as(world.user("operator"))
    answer = client.post(
        f"/api/v1/beds/{beds[0].id}/discharge",
        json={"discharged_on": died.isoformat(), "reason": "death"},
    )
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["id"] == stay.id and body["discharge_reason"] == "death"
    assert body["person_name"] == person.name
    assert any(died.isoformat() in text for text in body["effects"])
    home = client.post(
        f"/api/v1/beds/{beds[1].id}/discharge",
        json={"discharged_on": today.isoformat(), "reason": "home"},
    )
    assert home.status_code == 409  # nobody in that bed; the shape of refusals is unchanged


def test_the_sweep_closes_what_a_death_written_directly_left_open(world, beds, resident):
    died = local_today() - timedelta(days=2)
    person, stay = resident
    ops.reserve(beds[1], person.name, utcnow() + timedelta(days=2), world.user("operator"), person)
    # (a reservation and a stay at once: a stay made before the reservation was kept)
    person.death_date = died  # past the registry's one writer: no event, nothing followed
    db.session.commit()

    assert tasks.repair_departed() == 2
    closed = _fresh(Stay, stay.id)
    assert (closed.discharged_on, closed.discharge_reason) == (died, "death")
    assert _bed_now(beds[0]) == "vacant" and _bed_now(beds[1]) == "vacant"
    notes = db.session.scalars(
        sa.select(AuditLog.note).where(
            AuditLog.action.in_(["stay.discharged", "bed.reservation_ended"]),
            AuditLog.facility_id == world.facility_a.id,
            AuditLog.note == "repair",
        )
    ).all()
    assert len(notes) == 2
    assert len(_told(world.user("operator"))) == 1
    assert tasks.repair_departed() == 0


def test_the_sweep_leaves_an_impossible_death_for_an_officer_and_repairs_the_rest(
    world, beds, resident, make_person
):
    today = local_today()
    admitted = today - timedelta(days=30)
    died = today - timedelta(days=2)
    person, stay = resident
    person.death_date = admitted - timedelta(days=3)  # before the admission
    other = make_person(world.village_a)
    other_stay = ops.admit(beds[1], other, admitted, LOW_RISKS, world.user("operator"))
    other.death_date = died
    db.session.commit()
    assert tasks.repair_departed() == 1
    assert _fresh(Stay, stay.id).discharged_on is None
    assert _fresh(Stay, other_stay.id).discharged_on == died
    assert tasks.repair_departed() == 0


def test_a_healthy_database_needs_no_repair(world, beds, resident):
    assert tasks.repair_departed() == 0


def test_no_bed_is_kept_for_the_dead(world, beds, make_person):
    died = local_today() - timedelta(days=2)
    person = make_person(world.village_a)
    life_events.record_death(person, died, world.user("township_staff"))
    with pytest.raises(Invalid):
        ops.reserve(
            beds[1], person.name, utcnow() + timedelta(days=2), world.user("operator"), person
        )
