"""A booking's life: requested, confirmed (at once or by the operator), completed or missed,
cancelled by either side; the slot's counter always equals the bookings holding a place,
refusals write nothing, and each change tells the other side."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eldercare.beds.models import Bed, Reservation
from eldercare.bookings import operations as ops
from eldercare.bookings.models import Booking, Slot
from eldercare.core.db import local_zone
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from tests.bookings.helpers import (
    book,
    counts_agree,
    family_of,
    make_service,
    messages,
    morning,
    relative,
    slot_of,
    slot_start,
    written,
)
from tests.builders import build_bed, build_room, build_user


def _refusal(call) -> AppError:
    with pytest.raises(AppError) as refused:
        call()
    return refused.value


@pytest.fixture
def operator(world):
    return world.user("operator")


@pytest.fixture
def visits(world):
    return make_service(world.facility_a, capacity=2)


@pytest.fixture
def requests_only(world):
    """A visit service whose every booking the operator confirms, of one place a slot."""
    return make_service(world.facility_a, capacity=1, auto_confirm=False, name="预约探视")


# --- booking ----------------------------------------------------------------------------------


def test_an_automatic_service_confirms_a_booking_while_a_place_is_left(world, visits):
    family = world.user("family")
    booking = book(visits, world.person_a, family, slot_start(3))
    assert booking.status == "confirmed"
    assert booking.confirmed_at == morning() and booking.confirmed_by_id is None
    assert slot_of(visits, slot_start(3)).booked == 1
    assert counts_agree(booking)


def test_a_booking_keeps_who_booked_for_whom_and_the_details(world, visits):
    family = world.user("family")
    family.phone = "13900000001"
    booking = book(visits, world.person_a, family, slot_start(3), party_size=3, note="带轮椅")
    assert (booking.person_id, booking.user_id) == (world.person_a.id, family.id)
    assert (booking.service_id, booking.facility_id) == (visits.id, world.facility_a.id)
    assert (booking.starts_at, booking.ends_at) == (slot_start(3), slot_start(3, time(10)))
    assert (booking.party_size, booking.note) == (3, "带轮椅")
    assert booking.contact_phone == "13900000001"


def test_a_request_waits_for_the_operator_and_takes_no_place(world, requests_only):
    booking = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    assert booking.status == "requested"
    assert booking.confirmed_at is None
    assert slot_of(requests_only, slot_start(3)).booked == 0
    assert counts_agree(booking)


def test_a_request_on_a_full_slot_is_refused(world, requests_only, operator):
    first = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    ops.confirm(first, operator, now=morning())
    person, family = relative(world.village_a)
    assert _refusal(lambda: book(requests_only, person, family, slot_start(3))).code == 409


def test_the_booking_past_the_last_place_is_refused_with_409(world, visits):
    for _ in range(2):
        person, family = relative(world.village_a)
        book(visits, person, family, slot_start(3))
    person, family = relative(world.village_a)
    before = written()
    refusal = _refusal(lambda: book(visits, person, family, slot_start(3)))
    assert refusal.code == 409
    assert written() == before
    assert slot_of(visits, slot_start(3)).booked == 2


@pytest.mark.parametrize("role", ["operator", "county_staff", "township_staff", "admin", "visitor"])
def test_only_a_family_member_books(world, visits, role):
    refusal = _refusal(lambda: book(visits, world.person_a, world.user(role), slot_start(3)))
    assert refusal.code == 403


def test_a_relative_recorded_as_deceased_cannot_be_booked(world, visits):
    world.person_a.death_date = date(2026, 1, 2)
    db.session.flush()
    refusal = _refusal(lambda: book(visits, world.person_a, world.user("family"), slot_start(3)))
    assert refusal.code == 422
    assert "person_id" in refusal.errors


@pytest.mark.parametrize("kind", ["meal", "cleaning", "bathing", "escort"])
def test_a_home_service_needs_the_place(world, kind):
    service = make_service(world.facility_a, kind=kind, name="上门服务")
    family = world.user("family")
    refusal = _refusal(lambda: book(service, world.person_a, family, slot_start(3)))
    assert refusal.code == 422
    assert "place" in refusal.errors
    booking = book(service, world.person_a, family, slot_start(3), place="马营东村5组12号")
    assert booking.place == "马营东村5组12号"


def test_only_a_visit_brings_a_party(world, visits):
    meal = make_service(world.facility_a, kind="meal", name="助餐")
    family = world.user("family")
    assert book(visits, world.person_a, family, slot_start(3), party_size=4).party_size == 4
    assert (
        book(meal, world.person_a, family, slot_start(4), party_size=4, place="家").party_size == 1
    )


def test_a_visit_keeps_no_place(world, visits):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3), place="家里")
    assert booking.place == ""


# --- one relative, one booking at a time ------------------------------------------------------


def test_a_relative_cannot_hold_two_overlapping_bookings_on_two_facilities(world, visits):
    elsewhere = make_service(
        world.facility_b, opens_at=time(9, 30), closes_at=time(12), slot_minutes=30
    )
    sibling = family_of(world.person_a)
    book(visits, world.person_a, world.user("family"), slot_start(3))  # 09:00-10:00
    before = written()
    refusal = _refusal(lambda: book(elsewhere, world.person_a, sibling, slot_start(3, time(9, 30))))
    assert refusal.code == 409
    assert written() == before


def test_the_same_slot_cannot_be_booked_twice_for_one_relative(world, visits):
    book(visits, world.person_a, world.user("family"), slot_start(3))
    sibling = family_of(world.person_a)
    assert _refusal(lambda: book(visits, world.person_a, sibling, slot_start(3))).code == 409
    assert slot_of(visits, slot_start(3)).booked == 1


def test_a_request_also_blocks_an_overlapping_booking(world, requests_only, visits):
    book(requests_only, world.person_a, world.user("family"), slot_start(3))
    refusal = _refusal(lambda: book(visits, world.person_a, world.user("family"), slot_start(3)))
    assert refusal.code == 409


def test_back_to_back_bookings_do_not_overlap(world, visits):
    family = world.user("family")
    book(visits, world.person_a, family, slot_start(3, time(9)))
    assert book(visits, world.person_a, family, slot_start(3, time(10))).status == "confirmed"


def test_after_a_cancel_the_relative_can_book_the_time_again(world, visits):
    family = world.user("family")
    first = book(visits, world.person_a, family, slot_start(3))
    ops.cancel(first, family, now=morning())
    again = book(visits, world.person_a, family, slot_start(3))
    assert again.status == "confirmed"
    assert again.slot_id == first.slot_id
    assert counts_agree(again)


# --- confirming -------------------------------------------------------------------------------


def test_the_operator_confirms_a_request_and_it_takes_a_place(world, requests_only, operator):
    booking = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    ops.confirm(booking, operator, now=morning())
    assert booking.status == "confirmed"
    assert (booking.confirmed_by_id, booking.confirmed_at) == (operator.id, morning())
    assert slot_of(requests_only, slot_start(3)).booked == 1
    assert counts_agree(booking)


def test_confirming_re_checks_the_place_and_the_second_confirm_writes_nothing(
    world, requests_only, operator
):
    first = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    person, family = relative(world.village_a)
    second = book(requests_only, person, family, slot_start(3))
    ops.confirm(first, operator, now=morning())
    before = written()
    refusal = _refusal(lambda: ops.confirm(second, operator, now=morning()))
    assert refusal.code == 409
    assert written() == before
    assert db.session.get(Booking, second.id).status == "requested"
    assert counts_agree(first)


def test_only_a_request_can_be_confirmed(world, visits, operator):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    assert _refusal(lambda: ops.confirm(booking, operator, now=morning())).code == 409
    assert slot_of(visits, slot_start(3)).booked == 1


def test_a_request_whose_time_has_passed_cannot_be_confirmed(world, requests_only, operator):
    booking = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    late = slot_start(3) + timedelta(minutes=1)
    assert _refusal(lambda: ops.confirm(booking, operator, now=late)).code == 409


@pytest.mark.parametrize("role", ["county_staff", "family", "township_staff"])
def test_only_the_facility_s_staff_confirm(world, requests_only, role):
    booking = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    assert _refusal(lambda: ops.confirm(booking, world.user(role), now=morning())).code == 403


def test_an_operator_of_another_facility_cannot_confirm(world, requests_only):
    booking = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    stranger = build_user("operator", facility=world.facility_b)
    assert _refusal(lambda: ops.confirm(booking, stranger, now=morning())).code == 403


# --- admission applications -------------------------------------------------------------------


@pytest.fixture
def admissions(world):
    return make_service(
        world.facility_a,
        kind="admission",
        name="入住申请",
        capacity=1,
        auto_confirm=False,
        opens_at=time(9),
        closes_at=time(11),
        slot_minutes=1440,
    )


def test_confirming_an_admission_reserves_the_bed_for_the_relative(world, admissions, operator):
    bed = build_bed(build_room(world.facility_a))
    booking = book(admissions, world.person_a, world.user("family"), slot_start(3))
    ops.confirm(booking, operator, bed=bed, now=morning())
    reservation = db.session.get(Reservation, booking.reservation_id)
    assert (reservation.bed_id, reservation.person_id) == (bed.id, world.person_a.id)
    assert reservation.ended_at is None and reservation.expires_at > slot_start(3)
    assert db.session.get(Bed, bed.id).status == "reserved"
    assert booking.status == "confirmed"


def test_an_admission_cannot_be_confirmed_without_a_bed(world, admissions, operator):
    booking = book(admissions, world.person_a, world.user("family"), slot_start(3))
    before = written()
    refusal = _refusal(lambda: ops.confirm(booking, operator, now=morning()))
    assert refusal.code == 422 and "bed_id" in refusal.errors
    assert written() == before


def test_an_admission_cannot_reserve_a_bed_of_another_facility(world, admissions, operator):
    bed = build_bed(build_room(world.facility_b))
    booking = book(admissions, world.person_a, world.user("family"), slot_start(3))
    refusal = _refusal(lambda: ops.confirm(booking, operator, bed=bed, now=morning()))
    assert refusal.code == 422 and "bed_id" in refusal.errors
    assert db.session.get(Bed, bed.id).status == "vacant"


def test_an_admission_cannot_reserve_a_bed_already_reserved(world, admissions, operator):
    bed = build_bed(build_room(world.facility_a))
    first = book(admissions, world.person_a, world.user("family"), slot_start(3))
    ops.confirm(first, operator, bed=bed, now=morning())
    person, family = relative(world.village_a)
    second = book(admissions, person, family, slot_start(4))
    assert _refusal(lambda: ops.confirm(second, operator, bed=bed, now=morning())).code == 409


def test_cancelling_a_confirmed_admission_releases_the_bed(world, admissions, operator):
    bed = build_bed(build_room(world.facility_a))
    booking = book(admissions, world.person_a, world.user("family"), slot_start(3))
    ops.confirm(booking, operator, bed=bed, now=morning())
    ops.cancel(booking, world.user("family"), now=morning())
    reservation = db.session.get(Reservation, booking.reservation_id)
    assert reservation.ended_at is not None and reservation.end_reason == "released"
    assert db.session.get(Bed, bed.id).status == "vacant"
    assert counts_agree(booking)


def test_nobody_coming_for_an_admission_frees_the_bed_at_once(world, admissions, operator):
    bed = build_bed(build_room(world.facility_a))
    booking = book(admissions, world.person_a, world.user("family"), slot_start(3))
    ops.confirm(booking, operator, bed=bed, now=morning())
    ops.finish(booking, "no_show", operator, now=booking.ends_at)
    reservation = db.session.get(Reservation, booking.reservation_id)
    assert reservation.ended_at is not None
    assert db.session.get(Bed, bed.id).status == "vacant"


def test_an_admission_that_took_place_keeps_the_bed_for_the_stay(world, admissions, operator):
    bed = build_bed(build_room(world.facility_a))
    booking = book(admissions, world.person_a, world.user("family"), slot_start(3))
    ops.confirm(booking, operator, bed=bed, now=morning())
    ops.finish(booking, "completed", operator, now=booking.ends_at)
    assert db.session.get(Reservation, booking.reservation_id).ended_at is None
    assert db.session.get(Bed, bed.id).status == "reserved"


def test_an_admission_is_never_confirmed_without_a_bed_even_when_automatic(world, operator):
    """An automatic service would confirm an application with no bed kept for it."""
    service = make_service(world.facility_a, kind="admission", name="入住申请", auto_confirm=True)
    booking = book(service, world.person_a, world.user("family"), slot_start(3))
    assert booking.status == "requested"
    assert slot_of(service, slot_start(3)).booked == 0


# --- completing -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["completed", "no_show"])
def test_a_confirmed_booking_is_completed_or_missed_once_it_has_started(
    world, visits, operator, outcome
):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    ops.finish(booking, outcome, operator, now=slot_start(3) + timedelta(minutes=5))
    assert booking.status == outcome
    assert booking.ended_by_id == operator.id
    # It still held its place: the counter keeps counting it.
    assert slot_of(visits, slot_start(3)).booked == 1
    assert counts_agree(booking)


def test_a_booking_cannot_be_completed_before_it_starts(world, visits, operator):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    early = slot_start(3) - timedelta(minutes=1)
    assert _refusal(lambda: ops.finish(booking, "completed", operator, now=early)).code == 409
    assert booking.status == "confirmed"


def test_a_request_cannot_be_completed(world, requests_only, operator):
    booking = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    later = slot_start(3, time(12))
    assert _refusal(lambda: ops.finish(booking, "no_show", operator, now=later)).code == 409


def test_a_cancelled_booking_cannot_be_completed(world, visits, operator):
    family = world.user("family")
    booking = book(visits, world.person_a, family, slot_start(3))
    ops.cancel(booking, family, now=morning())
    later = slot_start(3, time(12))
    assert _refusal(lambda: ops.finish(booking, "completed", operator, now=later)).code == 409
    assert counts_agree(booking)


def test_only_the_facility_s_staff_complete_a_booking(world, visits):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    later = slot_start(3, time(12))
    family = world.user("family")
    assert _refusal(lambda: ops.finish(booking, "completed", family, now=later)).code == 403


def test_a_completed_booking_cannot_be_cancelled(world, visits, operator):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    ops.finish(booking, "completed", operator, now=slot_start(3, time(12)))
    refusal = _refusal(lambda: ops.cancel(booking, operator, "弄错了", now=slot_start(4)))
    assert refusal.code == 409
    assert counts_agree(booking)


# --- cancelling -------------------------------------------------------------------------------


def test_the_family_cancels_before_the_cut_off_and_the_place_comes_back(world, visits):
    family = world.user("family")
    booking = book(visits, world.person_a, family, slot_start(3))
    deadline = slot_start(3) - timedelta(hours=visits.cancel_hours)
    ops.cancel(booking, family, "临时有事", now=deadline)
    assert booking.status == "cancelled"
    assert (booking.ended_at, booking.ended_by_id, booking.reason) == (
        deadline,
        family.id,
        "临时有事",
    )
    assert slot_of(visits, slot_start(3)).booked == 0
    assert counts_agree(booking)


def test_a_slot_the_session_already_holds_shows_the_place_given_back(world, visits):
    family = world.user("family")
    booking = book(visits, world.person_a, family, slot_start(3))
    slot = booking.slot
    assert slot.booked == 1
    ops.cancel(booking, family, now=morning())
    assert slot.booked == 0
    day = ops.availability(visits, now=morning(), first=slot_start(3).date(), days=2)
    assert next(s for d in day for s in d.slots if s.starts_at == slot_start(3)).free == 2


def test_another_family_member_of_the_relative_may_cancel(world, visits):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    ops.cancel(booking, family_of(world.person_a), now=morning())
    assert booking.status == "cancelled"


def test_the_family_cannot_cancel_after_the_cut_off(world, visits):
    family = world.user("family")
    booking = book(visits, world.person_a, family, slot_start(3))
    late = slot_start(3) - timedelta(hours=visits.cancel_hours) + timedelta(seconds=1)
    before = written()
    refusal = _refusal(lambda: ops.cancel(booking, family, now=late))
    assert refusal.code == 409
    assert written() == before
    assert db.session.get(Booking, booking.id).status == "confirmed"
    assert not ops.can_cancel(booking, family, now=late)
    assert ops.can_cancel(booking, world.user("operator"), now=late)


def test_a_cancelled_request_gives_no_place_back(world, requests_only, visits):
    family = world.user("family")
    held = book(visits, world.person_a, family, slot_start(3, time(12)))
    request = book(requests_only, world.person_a, family, slot_start(3))
    ops.cancel(request, family, now=morning())
    assert slot_of(requests_only, slot_start(3)).booked == 0
    assert counts_agree(request) and counts_agree(held)


def test_the_operator_cancels_only_with_a_reason(world, visits, operator):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    late = slot_start(3) - timedelta(minutes=10)  # after the family's cut-off
    refusal = _refusal(lambda: ops.cancel(booking, operator, "", now=late))
    assert refusal.code == 422 and "reason" in refusal.errors
    ops.cancel(booking, operator, "院内消毒", now=late)
    assert (booking.status, booking.reason, booking.ended_by_id) == (
        "cancelled",
        "院内消毒",
        operator.id,
    )
    assert counts_agree(booking)


@pytest.mark.parametrize("role", ["county_staff", "township_staff", "visitor"])
def test_staff_outside_the_facility_cannot_cancel(world, visits, role):
    booking = book(visits, world.person_a, world.user("family"), slot_start(3))
    refusal = _refusal(lambda: ops.cancel(booking, world.user(role), "不需要", now=morning()))
    assert refusal.code == 403


def test_a_cancelled_booking_cannot_be_cancelled_again(world, visits):
    family = world.user("family")
    booking = book(visits, world.person_a, family, slot_start(3))
    ops.cancel(booking, family, now=morning())
    before = written()
    assert _refusal(lambda: ops.cancel(booking, family, now=morning())).code == 409
    assert written() == before


def test_the_counter_equals_the_holding_bookings_after_every_step(world, operator):
    service = make_service(world.facility_a, capacity=3, auto_confirm=False)
    start = slot_start(3)
    people = [relative(world.village_a) for _ in range(4)]
    bookings = [book(service, person, family, start) for person, family in people]
    steps = [
        lambda: ops.confirm(bookings[0], operator, now=morning()),
        lambda: ops.confirm(bookings[1], operator, now=morning()),
        lambda: ops.cancel(bookings[1], people[1][1], now=morning()),
        lambda: ops.confirm(bookings[2], operator, now=morning()),
        lambda: ops.confirm(bookings[3], operator, now=morning()),
        lambda: ops.cancel(bookings[0], operator, "床位调整", now=morning()),
        lambda: ops.finish(bookings[2], "completed", operator, now=start),
        lambda: ops.finish(bookings[3], "no_show", operator, now=start),
    ]
    expected = [1, 2, 1, 2, 3, 2, 2, 2]
    for step, booked in zip(steps, expected, strict=True):
        step()
        assert ops.check_counts(bookings[0].slot_id) == (booked, booked)


# --- refusals write nothing -------------------------------------------------------------------


def test_a_refused_booking_leaves_nothing_after_the_rollback(world, visits):
    """As a page does it: the refusal is rolled back and nothing of it remains."""
    for _ in range(2):
        person, family = relative(world.village_a)
        book(visits, person, family, slot_start(3))
    late, family = relative(world.village_a)
    db.session.commit()
    before = written()
    with pytest.raises(AppError):
        book(visits, late, family, slot_start(3))
    db.session.rollback()
    assert written() == before
    assert db.session.scalar(sa.select(sa.func.count()).where(Booking.person_id == late.id)) == 0


def _dead(world, service):
    world.person_a.death_date = date(2026, 1, 2)
    return world.person_a, world.user("family"), slot_start(3)


def _taken(world, service):
    book(service, world.person_a, world.user("family"), slot_start(3, time(10)))
    return world.person_a, family_of(world.person_a), slot_start(3, time(10))


def _full(world, service):
    for _ in range(2):
        person, family = relative(world.village_a)
        book(service, person, family, slot_start(3))
    return world.person_a, world.user("family"), slot_start(3)


def _not_a_start(world, service):
    book(service, *relative(world.village_a), slot_start(3))  # the slot row exists
    return world.person_a, world.user("family"), slot_start(3, time(9, 30))


def _closed(world, service):
    book(service, *relative(world.village_a), slot_start(3))
    ops.add_blackout(world.facility_a, slot_start(3).date(), "", world.user("operator"))
    return world.person_a, world.user("family"), slot_start(3)


def _not_family(world, service):
    return world.person_a, world.user("operator"), slot_start(3)


@pytest.mark.parametrize(
    "refused, code",
    [
        (_dead, 422),
        (_taken, 409),
        (_full, 409),
        (_not_a_start, 422),
        (_closed, 422),
        (_not_family, 403),
    ],
    ids=["deceased", "overlapping", "full", "not-a-start", "closed", "not-family"],
)
def test_a_refused_booking_writes_nothing(world, refused, code):
    service = make_service(world.facility_a, capacity=2)
    person, user, start = refused(world, service)
    db.session.flush()
    before = written()
    assert _refusal(lambda: book(service, person, user, start)).code == code
    assert written() == before


def test_a_refused_booking_of_a_new_slot_leaves_no_slot_row(world, visits):
    family = world.user("family")
    book(visits, world.person_a, family, slot_start(3))
    before = written()
    refusal = _refusal(lambda: book(visits, world.person_a, family, slot_start(3, time(9, 30))))
    assert refusal.code == 422
    refusal = _refusal(lambda: book(visits, world.person_a, family, slot_start(3)))
    assert refusal.code == 409
    assert written() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Slot)) == 1


# --- notices ----------------------------------------------------------------------------------


def test_a_confirmation_goes_to_the_family_in_app_and_by_e_mail(world, visits):
    family = world.user("family")
    family.email = "son@example.cn"
    booking = book(visits, world.person_a, family, slot_start(3))
    rows = messages(family, "booking-confirmed:")
    assert {m.channel for m in rows} >= {"inapp", "email"}
    email = next(m for m in rows if m.channel == "email")
    assert email.recipient == "son@example.cn"
    assert all(m.link == f"/bookings/{booking.id}" for m in rows)
    assert all(world.person_a.name in m.body and visits.name in m.body for m in rows)
    assert all(visits.name in m.subject for m in rows)


def test_a_family_member_without_e_mail_is_told_in_the_application(world, visits):
    family = world.user("family")
    family.email = None
    book(visits, world.person_a, family, slot_start(3))
    assert [m.channel for m in messages(family, "booking-confirmed:")] == ["inapp"]


def test_the_confirmation_gives_the_local_time_and_the_facility(world, visits):
    world.facility_a.address = "马营镇中街1号"
    family = world.user("family")
    book(visits, world.person_a, family, slot_start(3))
    body = messages(family, "booking-confirmed:")[0].body
    day = slot_start(3).astimezone(local_zone()).strftime("%Y-%m-%d")
    assert f"{day} 09:00" in body and "10:00" in body
    assert "马营镇敬老院 马营镇中街1号" in body


def test_messages_speak_the_recipient_s_language(world, visits):
    family = world.user("family")
    family.locale = "en"
    book(visits, world.person_a, family, slot_start(3))
    assert messages(family, "booking-confirmed:")[0].subject.startswith("Booking confirmed")


def test_a_request_tells_the_facility_s_operators_in_the_application(world, requests_only):
    operators = [world.user("operator"), build_user("operator", facility=world.facility_a)]
    operators[1].email = "op2@example.cn"
    build_user("operator", facility=world.facility_b)
    retired = build_user("operator", facility=world.facility_a, active=False)
    family = world.user("family")
    booking = book(requests_only, world.person_a, family, slot_start(3))
    for operator in operators:
        rows = messages(operator, "booking-requested:")
        assert [(m.channel, m.link) for m in rows] == [("inapp", f"/bookings/{booking.id}")]
        assert world.person_a.name in rows[0].body
    assert messages(retired) == []
    assert messages(family) == []
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                OutboxMessage.idempotency_key.startswith("booking-requested:")
            )
        )
        == 2
    )


def test_the_operator_s_confirmation_tells_the_family(world, requests_only, operator):
    family = world.user("family")
    booking = book(requests_only, world.person_a, family, slot_start(3))
    assert messages(family) == []
    ops.confirm(booking, operator, now=morning())
    assert [m.channel for m in messages(family, f"booking-confirmed:{booking.id}:")] == ["inapp"]


def test_the_family_s_cancel_tells_the_operators(world, visits, operator):
    family = world.user("family")
    booking = book(visits, world.person_a, family, slot_start(3))
    ops.cancel(booking, family, now=morning())
    rows = messages(operator, "booking-cancelled:")
    assert [(m.channel, m.link) for m in rows] == [("inapp", f"/bookings/{booking.id}")]
    assert messages(family, "booking-cancelled:") == []


@pytest.mark.parametrize("auto_confirm", [True, False], ids=["confirmed", "requested"])
def test_the_operator_s_cancel_tells_the_family_with_the_reason(world, operator, auto_confirm):
    service = make_service(world.facility_a, auto_confirm=auto_confirm)
    family = world.user("family")
    booking = book(service, world.person_a, family, slot_start(3))
    ops.cancel(booking, operator, "停水检修", now=morning())
    rows = messages(family, "booking-cancelled:")
    assert [m.channel for m in rows] == ["inapp"]
    assert "停水检修" in rows[0].body and rows[0].link == f"/bookings/{booking.id}"
    assert messages(operator, "booking-cancelled:") == []


def test_the_family_hears_whether_a_request_was_declined_or_a_booking_cancelled(world, operator):
    family = world.user("family")
    family.locale = "en"
    request = book(
        make_service(world.facility_a, auto_confirm=False), world.person_a, family, slot_start(3)
    )
    ops.cancel(request, operator, "满员", now=morning())
    confirmed = book(
        make_service(world.facility_a, name="另一项"), world.person_a, family, slot_start(4)
    )
    ops.cancel(confirmed, operator, "停电", now=morning())
    subjects = [m.subject for m in messages(family, "booking-cancelled:")]
    assert subjects[0].startswith("Booking declined")
    assert subjects[1].startswith("Booking cancelled by the facility")


# --- changing a service -----------------------------------------------------------------------


def _service_data(**kw) -> dict:
    data = {
        "kind": "visit",
        "name": "家属探视",
        "description": "",
        "price_fen": None,
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "opens_at": time(9),
        "closes_at": time(17),
        "slot_minutes": 60,
        "capacity": 3,
        "min_notice_hours": 24,
        "max_days_ahead": 14,
        "cancel_hours": 2,
        "auto_confirm": True,
        "active": True,
    }
    data.update(kw)
    return data


def test_the_operator_creates_a_service_the_facility_may_offer(world, operator):
    service = ops.save_service(world.facility_a, _service_data(), operator)
    assert (service.facility_id, service.kind, service.capacity) == (
        world.facility_a.id,
        "visit",
        3,
    )
    assert service in ops.services_of(world.facility_a.id)


def test_a_facility_cannot_offer_a_service_of_another_kind_of_facility(world, operator):
    refusal = _refusal(
        lambda: ops.save_service(world.facility_a, _service_data(kind="trial_day"), operator)
    )
    assert refusal.code == 422 and "kind" in refusal.errors


def test_only_the_facility_s_own_operator_defines_its_services(world, operator):
    refusal = _refusal(lambda: ops.save_service(world.facility_b, _service_data(), operator))
    assert refusal.code == 403


def test_a_service_of_another_facility_cannot_be_changed_through_one_s_own(world, operator):
    theirs = make_service(world.facility_b)
    refusal = _refusal(
        lambda: ops.save_service(
            world.facility_a, _service_data(kind=None, capacity=9), operator, theirs
        )
    )
    assert refusal.code == 404
    assert theirs.capacity == 2


def test_a_day_cannot_be_closed_for_a_service_of_another_facility(world, operator):
    theirs = make_service(world.facility_b)
    day = slot_start(3).date()
    refusal = _refusal(lambda: ops.add_blackout(world.facility_a, day, "", operator, theirs))
    assert refusal.code == 404


def test_lowering_the_capacity_never_goes_below_what_a_slot_holds(world, operator):
    service = ops.save_service(world.facility_a, _service_data(capacity=3), operator)
    for _ in range(2):
        person, family = relative(world.village_a)
        book(service, person, family, slot_start(3))
    person, family = relative(world.village_a)
    book(service, person, family, slot_start(4))
    ops.save_service(world.facility_a, _service_data(kind=None, capacity=1), operator, service)
    busy, quiet = slot_of(service, slot_start(3)), slot_of(service, slot_start(4))
    db.session.refresh(busy)
    db.session.refresh(quiet)
    assert (busy.capacity, busy.booked) == (2, 2)
    assert (quiet.capacity, quiet.booked) == (1, 1)
    assert counts_agree(busy.id) and counts_agree(quiet.id)
    # No place is left in either, and a new slot takes the new capacity.
    stranger, theirs = relative(world.village_a)
    assert _refusal(lambda: book(service, stranger, theirs, slot_start(3))).code == 409
    assert _refusal(lambda: book(service, stranger, theirs, slot_start(4))).code == 409
    assert book(service, stranger, theirs, slot_start(5)).slot.capacity == 1


def test_availability_right_after_a_capacity_change_shows_the_new_capacity(world, operator):
    service = ops.save_service(world.facility_a, _service_data(capacity=3), operator)
    person, family = relative(world.village_a)
    held = book(service, person, family, slot_start(3)).slot  # the session keeps the slot
    ops.save_service(world.facility_a, _service_data(kind=None, capacity=5), operator, service)
    day = ops.availability(service, now=morning(), first=slot_start(3).date(), days=2)
    listed = next(s for d in day for s in d.slots if s.starts_at == slot_start(3))
    assert (listed.capacity, listed.free) == (5, 4)
    assert held.capacity == 5


def test_raising_the_capacity_opens_places_in_a_full_slot(world, operator):
    service = ops.save_service(world.facility_a, _service_data(capacity=1), operator)
    person, family = relative(world.village_a)
    book(service, person, family, slot_start(3))
    ops.save_service(world.facility_a, _service_data(kind=None, capacity=2), operator, service)
    stranger, theirs = relative(world.village_a)
    assert book(service, stranger, theirs, slot_start(3)).status == "confirmed"
    assert counts_agree(slot_of(service, slot_start(3)).id)


def test_a_capacity_change_leaves_slots_that_have_started_alone(world, operator):
    service = ops.save_service(world.facility_a, _service_data(capacity=3), operator)
    past = Slot(
        service_id=service.id,
        facility_id=service.facility_id,
        starts_at=slot_start(-2),
        ends_at=slot_start(-2, time(10)),
        capacity=3,
        booked=0,
    )
    db.session.add(past)
    db.session.flush()
    ops.save_service(world.facility_a, _service_data(kind=None, capacity=1), operator, service)
    db.session.refresh(past)
    assert past.capacity == 3


# --- any sequence of steps ----------------------------------------------------------------------

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["book", "confirm", "cancel_family", "cancel_operator", "finish"]),
        st.integers(0, 3),  # which relative
        st.integers(0, 1),  # which slot (09:00 or 10:00)
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, automatic=st.booleans(), capacity=st.integers(1, 2))
def test_any_sequence_of_steps_keeps_the_counter_equal_to_the_holding_bookings(
    world, steps, automatic, capacity
):
    """Whatever is booked, confirmed, cancelled or completed in whatever order, each slot's
    counter is the number of bookings holding a place, never more than its capacity, and each
    step is refused exactly when the plain rules say so."""
    savepoint = db.session.begin_nested()  # each example starts from the same world
    try:
        operator = world.user("operator")
        service = make_service(world.facility_a, capacity=capacity, auto_confirm=automatic)
        starts = [slot_start(3, time(9)), slot_start(3, time(10))]
        people = [relative(world.village_a) for _ in range(4)]
        # What was booked: (relative, slot) -> its bookings, oldest first.
        made: dict[tuple[int, int], list[Booking]] = {}
        for action, who, which in steps:
            person, family = people[who]
            mine = made.setdefault((who, which), [])
            latest = mine[-1] if mine else None
            holding = sum(
                b.status in ("confirmed", "completed", "no_show")
                for (_, w), bs in made.items()
                if w == which
                for b in bs
            )
            if action == "book":
                expected = (latest is None or not latest.is_open) and holding < capacity
            elif latest is None:
                continue
            elif action == "confirm":
                expected = latest.status == "requested" and holding < capacity
            elif action in ("cancel_family", "cancel_operator"):
                expected = latest.is_open
            else:
                expected = latest.status == "confirmed"
            step = db.session.begin_nested()  # a refused step is rolled back, as a page does
            try:
                if action == "book":
                    mine.append(book(service, person, family, starts[which]))
                elif action == "confirm":
                    ops.confirm(latest, operator, now=morning())
                elif action == "cancel_family":
                    ops.cancel(latest, family, now=morning())
                elif action == "cancel_operator":
                    ops.cancel(latest, operator, "调整", now=morning())
                else:
                    ops.finish(latest, "completed", operator, now=starts[which])
                step.commit()
                done = True
            except AppError as refused:
                step.rollback()
                assert refused.code == 409, (action, refused.code, refused.errors)
                done = False
            assert done == expected, (action, who, which, steps)
            for start in starts:
                slot = slot_of(service, start)
                if slot is not None:
                    booked, held = ops.check_counts(slot.id)
                    assert booked == held <= slot.capacity == capacity
    finally:
        savepoint.rollback()
