"""The bed operations and the invariants behind them, without any page or API in between."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare.beds import operations as ops
from eldercare.beds.models import Bed, BedStatus, Reservation, Stay
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError
from eldercare.extensions import db
from tests.builders import LOW_RISKS

TODAY = date(2026, 11, 1)


@pytest.fixture
def home(world, make_room, make_bed):
    """Facility A with one room of three beds; its operator."""
    room = make_room(world.facility_a, "101")
    beds = [make_bed(room, str(n)) for n in (1, 2, 3)]
    return world.user("operator"), beds


def residents(world, make_person, n):
    return [make_person(world.village_a, name=f"住户{i}") for i in range(n)]


def statuses(beds):
    db.session.expire_all()
    return [db.session.get(Bed, b.id).status for b in beds]


def test_admit_fills_the_bed_and_is_audited(world, home, make_person):
    operator, beds = home
    person = make_person(world.village_a)
    stay = ops.admit(beds[0], person, TODAY, LOW_RISKS, operator)
    assert stay.discharged_on is None and stay.facility_id == world.facility_a.id
    assert statuses(beds) == ["occupied", "vacant", "vacant"]
    assert json.loads(stay.risk_assessment)["choking"] == "low"
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "stay.admitted"))
    assert entry.entity_id == stay.id and entry.facility_id == world.facility_a.id


def test_the_risk_assessment_is_stored_encrypted(world, home, make_person, _transaction):
    operator, beds = home
    stay = ops.admit(beds[0], make_person(world.village_a), TODAY, LOW_RISKS, operator)
    raw = _transaction.execute(
        sa.text("SELECT risk_assessment FROM stay WHERE id = :id"), {"id": stay.id}
    ).scalar_one()
    assert "choking" not in raw


def test_all_nine_risks_must_be_assessed(world, home, make_person):
    operator, beds = home
    partial = dict(LOW_RISKS)
    partial.pop("wandering")
    with pytest.raises(AppError) as refused:
        ops.admit(beds[0], make_person(world.village_a), TODAY, partial, operator)
    assert refused.value.code == 422 and "risks" in refused.value.errors


def test_an_occupied_bed_refuses_a_second_admission(world, home, make_person):
    operator, beds = home
    first, second = residents(world, make_person, 2)
    ops.admit(beds[0], first, TODAY, LOW_RISKS, operator)
    with pytest.raises(AppError) as refused:
        ops.admit(beds[0], second, TODAY, LOW_RISKS, operator)
    assert refused.value.code == 409
    assert beds[0].code in str(refused.value.message)


def test_a_person_is_never_in_two_beds(world, home, make_person):
    operator, beds = home
    person = make_person(world.village_a)
    ops.admit(beds[0], person, TODAY, LOW_RISKS, operator)
    with pytest.raises(AppError) as refused:
        ops.admit(beds[1], person, TODAY, LOW_RISKS, operator)
    assert refused.value.code == 409


def test_the_database_refuses_two_open_stays_in_one_bed(world, home, make_person):
    """Even when the checks are skipped, the partial unique index holds."""
    _operator, beds = home
    first, second = residents(world, make_person, 2)
    db.session.add(
        Stay(
            bed_id=beds[0].id,
            facility_id=beds[0].facility_id,
            person_id=first.id,
            admitted_on=TODAY,
        )
    )
    db.session.flush()
    savepoint = db.session.begin_nested()
    db.session.add(
        Stay(
            bed_id=beds[0].id,
            facility_id=beds[0].facility_id,
            person_id=second.id,
            admitted_on=TODAY,
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    savepoint.rollback()


def test_the_database_refuses_overlapping_periods(world, home, make_person, _transaction):
    """A closed stay and a back-dated one overlapping it: the exclusion constraint on
    PostgreSQL; the operation's own check on both databases."""
    operator, beds = home
    first, second = residents(world, make_person, 2)
    stay = ops.admit(beds[0], first, TODAY - timedelta(days=30), LOW_RISKS, operator)
    ops.discharge(stay, TODAY - timedelta(days=10), "home", operator)
    with pytest.raises(AppError) as refused:
        ops.admit(beds[0], second, TODAY - timedelta(days=20), LOW_RISKS, operator)
    assert refused.value.code == 409
    if _transaction.dialect.name == "postgresql":
        savepoint = db.session.begin_nested()
        db.session.add(
            Stay(
                bed_id=beds[0].id,
                facility_id=beds[0].facility_id,
                person_id=second.id,
                admitted_on=TODAY - timedelta(days=20),
                discharged_on=TODAY - timedelta(days=15),
            )
        )
        with pytest.raises(sa.exc.IntegrityError, match="ex_stay_bed_period"):
            db.session.flush()
        savepoint.rollback()


def test_discharge_frees_the_bed_and_a_death_reaches_the_registry(world, home, make_person):
    operator, beds = home
    person = make_person(world.village_a)
    stay = ops.admit(beds[0], person, TODAY - timedelta(days=5), LOW_RISKS, operator)
    ops.discharge(stay, TODAY, "death", operator)
    assert statuses(beds)[0] == "vacant"
    db.session.expire_all()
    assert db.session.get(type(person), person.id).death_date == TODAY
    with pytest.raises(AppError) as twice:
        ops.discharge(db.session.get(Stay, stay.id), TODAY, "home", operator)
    assert twice.value.code == 409


def test_a_deceased_person_cannot_be_admitted(world, home, make_person):
    operator, beds = home
    person = make_person(world.village_a, death_date=TODAY - timedelta(days=1))
    with pytest.raises(AppError) as refused:
        ops.admit(beds[0], person, TODAY, LOW_RISKS, operator)
    assert refused.value.code == 422


def test_transfer_keeps_the_history_and_moves_the_status(world, home, make_person):
    operator, beds = home
    person = make_person(world.village_a)
    stay = ops.admit(beds[0], person, TODAY - timedelta(days=9), LOW_RISKS, operator)
    moved = ops.transfer(stay, beds[1], TODAY, operator)
    assert statuses(beds) == ["vacant", "occupied", "vacant"]
    assert moved.previous_stay_id == stay.id and moved.admitted_on == TODAY
    db.session.expire_all()
    old = db.session.get(Stay, stay.id)
    assert (old.discharged_on, old.discharge_reason) == (TODAY, "transfer")
    assert ops.resident_on(beds[0].id, TODAY - timedelta(days=1)).person_id == person.id
    assert ops.resident_on(beds[1].id, TODAY).person_id == person.id
    assert ops.resident_on(beds[0].id, TODAY) is None


def test_transfer_into_an_occupied_bed_is_refused(world, home, make_person):
    operator, beds = home
    first, second = residents(world, make_person, 2)
    stay = ops.admit(beds[0], first, TODAY, LOW_RISKS, operator)
    ops.admit(beds[1], second, TODAY, LOW_RISKS, operator)
    with pytest.raises(AppError) as refused:
        ops.transfer(stay, beds[1], TODAY, operator)
    assert refused.value.code == 409
    assert statuses(beds)[:2] == ["occupied", "occupied"]


def test_leave_holds_the_bed(world, home, make_person):
    operator, beds = home
    stay = ops.admit(
        beds[0], make_person(world.village_a), TODAY - timedelta(days=3), LOW_RISKS, operator
    )
    ops.start_leave(stay, TODAY - timedelta(days=1), "回家过节", operator)
    assert statuses(beds)[0] == "held"
    with pytest.raises(AppError):
        ops.start_leave(stay, TODAY, "again", operator)
    ops.end_leave(stay, TODAY, operator)
    assert statuses(beds)[0] == "occupied"
    # Held is still occupied for occupancy and for admissions.
    assert ops.resident_on(beds[0].id, TODAY - timedelta(days=1)) is not None


def test_reservation_blocks_others_and_expires_by_itself(world, home, make_person):
    operator, beds = home
    first, second = residents(world, make_person, 2)
    ops.reserve(beds[0], "王先生", utcnow() + timedelta(days=2), operator, person=first)
    assert statuses(beds)[0] == "reserved"
    with pytest.raises(AppError):
        ops.admit(beds[0], second, local_today(), LOW_RISKS, operator)
    # The person it is reserved for may be admitted.
    ops.admit(beds[0], first, local_today(), LOW_RISKS, operator)
    assert statuses(beds)[0] == "occupied"
    # An expired reservation frees the bed at the next look.
    ops.reserve(beds[1], "李女士", utcnow() + timedelta(hours=1), operator)
    reservation = db.session.scalar(sa.select(Reservation).where(Reservation.bed_id == beds[1].id))
    reservation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    assert ops.expire_reservations() == 1
    assert statuses(beds)[1] == "vacant"
    db.session.expire_all()
    assert db.session.get(Reservation, reservation.id).end_reason == "expired"


def test_a_reservation_must_end_in_the_future(world, home):
    operator, beds = home
    with pytest.raises(AppError) as refused:
        ops.reserve(beds[0], "x", utcnow() - timedelta(seconds=1), operator)
    assert refused.value.code == 422


def test_out_of_service_only_for_a_free_bed(world, home, make_person):
    operator, beds = home
    ops.admit(beds[0], make_person(world.village_a), TODAY, LOW_RISKS, operator)
    with pytest.raises(AppError):
        ops.take_out_of_service(beds[0], "维修", TODAY, operator)
    ops.take_out_of_service(beds[1], "维修", TODAY, operator)
    assert statuses(beds)[1] == "out_of_service"
    with pytest.raises(AppError):
        ops.admit(beds[1], make_person(world.village_a), TODAY, LOW_RISKS, operator)
    ops.return_to_service(beds[1], TODAY, operator)
    assert statuses(beds)[1] == "vacant"


def test_only_the_facilitys_own_operator_acts(world, home, make_person, make_user):
    _operator, beds = home
    other = make_user("operator", facility=world.facility_b)
    staff = world.user("county_staff")
    for user in (other, staff):
        with pytest.raises(AppError) as refused:
            ops.admit(beds[0], make_person(world.village_a), TODAY, LOW_RISKS, user)
        assert refused.value.code == 403


def test_future_dates_are_refused(world, home, make_person):
    operator, beds = home
    with pytest.raises(AppError) as refused:
        ops.admit(
            beds[0],
            make_person(world.village_a),
            local_today() + timedelta(days=1),
            LOW_RISKS,
            operator,
        )
    assert refused.value.code == 422


def test_occupancy_of_a_past_day(world, home, make_person):
    operator, beds = home
    a, b = residents(world, make_person, 2)
    first = ops.admit(beds[0], a, TODAY - timedelta(days=20), LOW_RISKS, operator)
    ops.discharge(first, TODAY - timedelta(days=10), "home", operator)
    ops.admit(beds[1], b, TODAY - timedelta(days=15), LOW_RISKS, operator)
    facility_ids = [world.facility_a.id]
    # Beds count from the day they were created (today, in this test): look from today on.
    for bed in beds:
        bed.created_at = utcnow() - timedelta(days=60)
    db.session.flush()
    assert ops.occupancy_on(TODAY - timedelta(days=12), facility_ids).occupied == 2
    assert ops.occupancy_on(TODAY - timedelta(days=10), facility_ids).occupied == 1
    assert ops.occupancy_on(TODAY - timedelta(days=25), facility_ids).occupied == 0
    day = ops.occupancy_on(TODAY, facility_ids)
    assert (day.beds, day.occupied) == (3, 1) and abs(day.rate - 1 / 3) < 1e-9


def test_board_groups_by_floor_and_room(world, make_room, make_bed):
    upstairs = make_room(world.facility_a, "201", floor=2)
    downstairs = make_room(world.facility_a, "101", floor=1)
    make_bed(upstairs, "1")
    make_bed(downstairs, "1")
    make_bed(downstairs, "2")
    floors = ops.board(world.facility_a, world.user("operator"))
    assert [floor for floor, _rooms in floors] == [1, 2]
    assert [[b.label for b in beds] for _room, beds in floors[0][1]] == [["1", "2"]]
    # Another facility's operator sees no rooms of this one.
    assert ops.board(world.facility_a, world.user("county_staff"))  # staff of the county read
    assert BedStatus.VACANT.value == floors[0][1][0][1][0].status
