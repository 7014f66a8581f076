"""Switching a facility off (``active`` false) is refused while it still has open business:
residents staying, beds reserved, day-care members, bookings to come. The refusal says what
must be done first, writes nothing and keeps what was typed; once the business is dealt
with, the same change goes through. A facility switched off takes no new resident, member or
booking. On PostgreSQL an admission racing the switch-off ends with one of the two only."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.beds import operations as beds
from eldercare.beds.models import Bed, Reservation, Stay
from eldercare.bookings.models import Booking
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError, Conflict
from eldercare.daycare.models import Member
from eldercare.daycare.operations.members import add_member
from eldercare.extensions import db
from eldercare.facilities import operations as ops
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from tests.bookings.helpers import book, make_service, slot_start
from tests.builders import (
    LOW_RISKS,
    build_bed,
    build_facility,
    build_person,
    build_room,
    build_user,
    build_world,
)
from tests.concurrency import at_once, committed_app
from tests.facilities.test_facilities import form_data, json_data


def _stay(world) -> Stay:
    bed = build_bed(build_room(world.facility_a))
    stay = Stay(
        bed_id=bed.id,
        facility_id=bed.facility_id,
        person_id=world.person_a.id,
        admitted_on=local_today() - timedelta(days=30),
    )
    db.session.add(stay)
    db.session.flush()
    return stay


def _reservation(world, expires_in=timedelta(days=3)) -> Reservation:
    bed = build_bed(build_room(world.facility_a))
    reservation = Reservation(
        bed_id=bed.id,
        facility_id=bed.facility_id,
        holder_name="王大爷",
        expires_at=utcnow() + expires_in,
    )
    db.session.add(reservation)
    db.session.flush()
    return reservation


def _member(world, left_on=None) -> Member:
    member = Member(
        facility_id=world.facility_a.id,
        person_id=world.person_a.id,
        joined_on=local_today() - timedelta(days=60),
        left_on=left_on,
    )
    db.session.add(member)
    db.session.flush()
    return member


def _booking(world) -> Booking:
    service = make_service(world.facility_a)
    return book(service, world.person_a, world.user("family"), slot_start(3))


#: Each kind of open business, and the words of its reason (in Chinese, the default).
OPEN_BUSINESS = {
    "stay": (_stay, "1 位老人仍在住"),
    "reservation": (_reservation, "1 张床位已为他人预留"),
    "member": (_member, "1 名日间照料会员尚未退出"),
    "booking": (_booking, "还有 1 个预约尚未到期"),
}


def _switch_off(client, world, via, **changes):
    facility = world.facility_a
    if via == "form":
        return client.post(
            f"/facilities/{facility.id}/edit", data=form_data(world, active=None, **changes)
        )
    return client.put(
        f"/api/v1/facilities/{facility.id}", json=json_data(world, active=False, **changes)
    )


def _state(facility_id: int) -> tuple[bool, str, int]:
    db.session.expire_all()
    facility = db.session.get(Facility, facility_id)
    updates = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "facility.updated", AuditLog.entity_id == facility_id)
    )
    return facility.active, facility.name, updates


@pytest.mark.parametrize("via", ["form", "api"])
@pytest.mark.parametrize("kind", sorted(OPEN_BUSINESS))
def test_switching_off_a_facility_with_open_business_is_refused_with_what_to_do(
    client, auth, world, kind, via
):
    make, words = OPEN_BUSINESS[kind]
    make(world)
    db.session.commit()
    auth.login_as(world.user("county_staff"))

    response = _switch_off(client, world, via, name="改名后的敬老院")

    assert response.status_code == 409
    if via == "api":
        body = response.get_json()
        assert body["code"] == "conflict"
        assert "暂不能停止运营" in body["message"]
        [reason] = body["errors"]["active"]
        assert words in reason
    else:
        page = response.get_data(as_text=True)
        assert "暂不能停止运营" in page and words in page
        assert 'value="改名后的敬老院"' in page  # what was typed is kept
    # Nothing written: not the switch-off, not the other changes sent with it.
    assert _state(world.facility_a.id) == (True, "马营镇敬老院", 0)


def test_every_reason_is_listed_at_once(client, auth, world):
    for make, _words in OPEN_BUSINESS.values():
        make(world)
    db.session.commit()
    auth.login_as(world.user("admin"))

    response = _switch_off(client, world, "api")

    assert response.status_code == 409
    reasons = response.get_json()["errors"]["active"]
    assert len(reasons) == 4
    for _make, words in OPEN_BUSINESS.values():
        assert any(words in reason for reason in reasons), (words, reasons)


def test_business_already_over_does_not_stop_the_switch_off(client, auth, world):
    """A discharged resident, an expired reservation, a member who left, a booking in the
    past or cancelled: nothing is open, so the facility stops operating."""
    stay = _stay(world)
    stay.discharged_on = local_today() - timedelta(days=1)
    stay.discharge_reason = "home"
    _reservation(world, expires_in=-timedelta(hours=1))
    _member(world, left_on=local_today() - timedelta(days=1))
    booking = _booking(world)
    booking.status = "cancelled"
    db.session.commit()
    auth.login_as(world.user("county_staff"))

    response = _switch_off(client, world, "api")

    assert response.status_code == 200, response.get_json()
    assert _state(world.facility_a.id)[0] is False


def test_the_other_changes_of_an_operating_facility_are_not_held_up(client, auth, world):
    """Only switching off is checked: a home full of residents still edits its details."""
    _stay(world)
    db.session.commit()
    auth.login_as(world.user("county_staff"))

    response = client.put(
        f"/api/v1/facilities/{world.facility_a.id}",
        json=json_data(world, name="马营镇中心敬老院"),
    )

    assert response.status_code == 200
    assert _state(world.facility_a.id) == (True, "马营镇中心敬老院", 1)


@pytest.fixture
def closed(world):
    """``world`` with facility_a switched off (nothing open in it)."""
    world.facility_a.active = False
    db.session.flush()
    return world


def test_a_facility_switched_off_admits_no_one(closed):
    bed = build_bed(build_room(closed.facility_a))
    with pytest.raises(Conflict, match="已停止运营"):
        beds.admit(bed, closed.person_a, local_today(), LOW_RISKS, closed.user("operator"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Stay)) == 0


def test_a_facility_switched_off_reserves_no_bed(closed):
    bed = build_bed(build_room(closed.facility_a))
    with pytest.raises(Conflict, match="已停止运营"):
        beds.reserve(bed, "王大爷", utcnow() + timedelta(days=2), closed.user("operator"))


def test_a_facility_switched_off_enrols_no_member(closed):
    closed.facility_a.kind = "day_care"
    with pytest.raises(Conflict, match="已停止运营"):
        add_member(
            closed.facility_a,
            build_person(closed.village_a),
            {"joined_on": local_today()},
            closed.user("operator"),
        )


def test_a_facility_switched_off_takes_no_booking(world):
    service = make_service(world.facility_a)
    world.facility_a.active = False
    db.session.flush()
    with pytest.raises(AppError, match="暂停接受预约"):
        book(service, world.person_a, world.user("family"), slot_start(3))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_switching_off_is_asked_of_every_feature_with_business_in_a_facility():
    """The beds, day-care and bookings features each answer the registry's question."""
    from eldercare.facilities import signals

    receivers = {r.__module__ for r in signals.closing_refusals.receivers_for(object())}
    assert {"eldercare.beds.events", "eldercare.daycare.events", "eldercare.bookings.events"} <= (
        receivers
    )


@pytest.mark.postgres
@pytest.mark.no_transaction
@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: set TEST_DATABASE_URL"
)
def test_an_admission_racing_the_switch_off_ends_with_one_of_them(tmp_path, worker_id):
    """Ten rounds of an admission and a switch-off sent at the same moment: either the
    resident is admitted and the facility still operates, or the facility is off and no one
    was admitted; never an inactive facility with a resident in it."""
    with committed_app(f"facility_closing_{worker_id}", tmp_path) as app:
        with app.app_context():
            world = build_world()
            staff_id = world.user("county_staff").id
            rounds = []
            for _ in range(10):
                facility = build_facility(world.township_a, name="竞态养老院")
                bed = build_bed(build_room(facility))
                operator = build_user("operator", facility=facility)
                person = build_person(world.village_a)
                rounds.append((facility.id, bed.id, person.id, operator.id))
            db.session.commit()

        def admit(bed_id, person_id, operator_id):
            def work():
                beds.admit(
                    db.session.get(Bed, bed_id),
                    db.session.get(Person, person_id),
                    local_today(),
                    LOW_RISKS,
                    db.session.get(User, operator_id),
                )

            return work

        def switch_off(facility_id):
            def work():
                facility = db.session.get(Facility, facility_id)
                data = ops.snapshot(facility) | {"active": False}
                ops.update_facility(facility, data, db.session.get(User, staff_id))

            return work

        def outcome(work):
            def call():
                with app.app_context():
                    try:
                        work()
                        db.session.commit()
                        return "done"
                    except AppError as refused:
                        db.session.rollback()
                        return refused.code
                    except Exception as exc:  # an unexpected error is reported, not lost
                        db.session.rollback()
                        return repr(exc)

            return call

        for facility_id, bed_id, person_id, operator_id in rounds:
            results = at_once(
                [outcome(admit(bed_id, person_id, operator_id)), outcome(switch_off(facility_id))]
            )
            assert sorted(results, key=str) in (["done", 409], [409, "done"]), results
            with app.app_context():
                active = db.session.get(Facility, facility_id).active
                staying = db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Stay)
                    .where(Stay.facility_id == facility_id, Stay.discharged_on.is_(None))
                )
                assert (active, staying) in ((True, 1), (False, 0)), results
