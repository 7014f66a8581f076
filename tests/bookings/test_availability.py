"""When a service can be booked: its weekdays and hours cut into slots, the places left, the
minimum notice and the last day ahead, blackout days, and Beijing days over UTC storage."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest

from eldercare.bookings import operations as ops
from eldercare.bookings.schemas import BookingSchema
from eldercare.core.db import local_zone
from eldercare.core.errors import AppError
from eldercare.extensions import db
from tests.bookings.helpers import (
    book,
    local,
    make_service,
    morning,
    relative,
    slot_start,
    today,
)


def _starts(days) -> list:
    return [s.starts_at for day in days for s in day.slots]


def _refusal(call) -> AppError:
    with pytest.raises(AppError) as refused:
        call()
    return refused.value


# --- slots of a day ---------------------------------------------------------------------------


def test_hours_are_cut_into_slots_of_the_service_length_in_beijing_time(world):
    service = make_service(world.facility_a, opens_at=time(9), closes_at=time(12))
    day = today() + timedelta(days=3)
    assert ops.slot_times(service, day) == [
        (local(day, time(9)), local(day, time(10))),
        (local(day, time(10)), local(day, time(11))),
        (local(day, time(11)), local(day, time(12))),
    ]
    # 09:00 Beijing time is 01:00 UTC.
    assert ops.slot_times(service, day)[0][0].astimezone(UTC).hour == 1


def test_a_slot_that_would_run_past_closing_time_is_not_offered(world):
    service = make_service(world.facility_a, opens_at=time(9), closes_at=time(17), slot_minutes=45)
    day = today() + timedelta(days=3)
    slots = ops.slot_times(service, day)
    assert len(slots) == 10  # 09:00 ... 15:45-16:30; 16:30-17:15 would end after closing
    assert slots[-1] == (local(day, time(15, 45)), local(day, time(16, 30)))


@pytest.mark.parametrize("slot_minutes", [480, 600, 1440])
def test_a_slot_as_long_as_the_opening_hours_or_longer_is_the_whole_day(world, slot_minutes):
    service = make_service(
        world.facility_a, opens_at=time(8), closes_at=time(16), slot_minutes=slot_minutes
    )
    day = today() + timedelta(days=3)
    assert ops.slot_times(service, day) == [(local(day, time(8)), local(day, time(16)))]


# --- availability -----------------------------------------------------------------------------


def test_only_the_weekdays_of_the_service_are_listed(world):
    first = today() + timedelta(days=2)
    open_days = [first.weekday(), (first + timedelta(days=3)).weekday()]
    service = make_service(world.facility_a, weekdays=open_days, min_notice_hours=0)
    days = ops.availability(service, now=morning(), first=first, days=7)
    assert [d.day for d in days] == [first, first + timedelta(days=3)]
    assert all(len(d.slots) == 8 for d in days)


def test_availability_shows_the_places_left_in_each_slot(world):
    service = make_service(world.facility_a, capacity=2)
    start = slot_start(3)
    person, family = relative(world.village_a)
    book(service, person, family, start)
    day = ops.availability(service, now=morning(), first=today() + timedelta(days=3), days=1)[0]
    taken = next(s for s in day.slots if s.starts_at == start)
    untouched = next(s for s in day.slots if s.starts_at == start + timedelta(hours=1))
    assert (taken.capacity, taken.booked, taken.free) == (2, 1, 1)
    assert (untouched.capacity, untouched.booked, untouched.free) == (2, 0, 2)


def test_a_full_slot_is_listed_with_no_place_free(world):
    service = make_service(world.facility_a, capacity=1)
    start = slot_start(3)
    person, family = relative(world.village_a)
    book(service, person, family, start)
    day = ops.availability(service, now=morning(), first=today() + timedelta(days=3), days=1)[0]
    assert next(s for s in day.slots if s.starts_at == start).free == 0
    assert day.free == 7


def test_slots_inside_the_minimum_notice_are_not_offered(world):
    service = make_service(world.facility_a, min_notice_hours=24)
    tomorrow = ops.availability(service, now=morning(), first=today() + timedelta(days=1))[0]
    # Now is 10:00 today: 09:00 tomorrow is 23 hours away, 10:00 tomorrow exactly 24.
    assert _starts([tomorrow])[0] == slot_start(1, time(10))
    assert len(tomorrow.slots) == 7


def test_booking_inside_the_minimum_notice_is_refused(world):
    service = make_service(world.facility_a, min_notice_hours=24)
    person, family = relative(world.village_a)
    refusal = _refusal(lambda: book(service, person, family, slot_start(1, time(9))))
    assert refusal.code == 422
    assert "starts_at" in refusal.errors
    assert book(service, person, family, slot_start(1, time(10))).status == "confirmed"


def test_days_past_the_last_day_ahead_are_not_listed(world):
    service = make_service(world.facility_a, max_days_ahead=5)
    days = ops.availability(service, now=morning(), days=14)
    assert days[-1].day == today() + timedelta(days=5)


def test_booking_past_the_last_day_ahead_is_refused(world):
    service = make_service(world.facility_a, max_days_ahead=5)
    person, family = relative(world.village_a)
    refusal = _refusal(lambda: book(service, person, family, slot_start(6)))
    assert refusal.code == 422
    assert "starts_at" in refusal.errors
    assert book(service, person, family, slot_start(5)).status == "confirmed"


def test_a_time_that_has_passed_is_refused(world):
    service = make_service(world.facility_a, min_notice_hours=0)
    person, family = relative(world.village_a)
    refusal = _refusal(lambda: book(service, person, family, local(today(), time(9))))
    assert refusal.code == 422


def test_a_facility_wide_blackout_closes_the_day_for_every_service(world):
    operator = world.user("operator")
    visits = make_service(world.facility_a)
    meals = make_service(world.facility_a, kind="meal", name="助餐")
    closed = today() + timedelta(days=3)
    ops.add_blackout(world.facility_a, closed, "春节", operator)
    for service in (visits, meals):
        days = ops.availability(service, now=morning(), first=closed, days=2)
        assert (days[0].day, days[0].closed_reason, days[0].slots) == (closed, "closed", [])
        assert days[1].closed_reason is None and len(days[1].slots) == 8
    person, family = relative(world.village_a)
    refusal = _refusal(lambda: book(visits, person, family, slot_start(3)))
    assert refusal.code == 422


def test_a_blackout_of_one_service_leaves_the_others_open(world):
    operator = world.user("operator")
    visits = make_service(world.facility_a)
    meals = make_service(world.facility_a, kind="meal", name="助餐")
    closed = today() + timedelta(days=3)
    ops.add_blackout(world.facility_a, closed, "消毒", operator, service=visits)
    assert ops.availability(visits, now=morning(), first=closed, days=1)[0].slots == []
    assert len(ops.availability(meals, now=morning(), first=closed, days=1)[0].slots) == 8
    person, family = relative(world.village_a)
    assert _refusal(lambda: book(visits, person, family, slot_start(3))).code == 422
    meal = book(meals, person, family, slot_start(3), place="马营东村3号")
    assert meal.status == "confirmed"


def test_a_blackout_of_another_facility_changes_nothing(world):
    visits = make_service(world.facility_a)
    ops.add_blackout(world.facility_b, today() + timedelta(days=3), "", world.user("admin"))
    assert len(ops.availability(visits, now=morning(), first=today() + timedelta(days=3))[0].slots)


def test_the_same_day_cannot_be_closed_twice(world):
    operator = world.user("operator")
    day = today() + timedelta(days=3)
    ops.add_blackout(world.facility_a, day, "", operator)
    assert _refusal(lambda: ops.add_blackout(world.facility_a, day, "", operator)).code == 409


def test_only_the_facility_s_own_staff_close_a_day(world):
    day = today() + timedelta(days=3)
    refusal = _refusal(lambda: ops.add_blackout(world.facility_b, day, "", world.user("operator")))
    assert refusal.code == 403


def test_a_removed_blackout_opens_the_day_again(world):
    operator = world.user("operator")
    service = make_service(world.facility_a)
    blackout = ops.add_blackout(world.facility_a, today() + timedelta(days=3), "", operator)
    ops.remove_blackout(blackout, operator)
    person, family = relative(world.village_a)
    assert book(service, person, family, slot_start(3)).status == "confirmed"


# --- Beijing days over UTC storage ------------------------------------------------------------


def test_a_slot_at_seven_beijing_time_is_on_that_local_day(world):
    """07:00 Beijing time is 23:00 UTC of the day before: the slot is listed on, booked on
    and closed by a blackout of its local day."""
    service = make_service(world.facility_a, opens_at=time(7), closes_at=time(9))
    day = today() + timedelta(days=3)
    seven = local(day, time(7))
    assert seven.astimezone(UTC).date() == day - timedelta(days=1)
    listed = ops.availability(service, now=morning(), first=day, days=1)[0]
    assert (listed.day, listed.slots[0].starts_at) == (day, seven)

    person, family = relative(world.village_a)
    booking = book(service, person, family, seven)
    db.session.refresh(booking)
    assert booking.starts_at == seven
    again = ops.availability(service, now=morning(), first=day, days=1)[0]
    assert again.slots[0].booked == 1
    ops.cancel(booking, family, now=morning())

    operator = world.user("operator")
    ops.add_blackout(world.facility_a, day - timedelta(days=1), "", operator)
    assert book(service, person, family, seven).status == "confirmed"


def test_a_blackout_of_the_local_day_refuses_a_seven_o_clock_slot(world):
    service = make_service(world.facility_a, opens_at=time(7), closes_at=time(9))
    day = today() + timedelta(days=3)
    ops.add_blackout(world.facility_a, day, "", world.user("operator"))
    person, family = relative(world.village_a)
    assert _refusal(lambda: book(service, person, family, local(day, time(7)))).code == 422


def test_the_weekday_of_a_booking_is_its_beijing_weekday(world):
    day = today() + timedelta(days=3)
    service = make_service(
        world.facility_a, weekdays=[day.weekday()], opens_at=time(7), closes_at=time(9)
    )
    person, family = relative(world.village_a)
    assert book(service, person, family, local(day, time(7))).status == "confirmed"
    other = make_service(
        world.facility_a,
        weekdays=[(day - timedelta(days=1)).weekday()],
        opens_at=time(7),
        closes_at=time(9),
        name="其他",
    )
    stranger, theirs = relative(world.village_a)
    assert _refusal(lambda: book(other, stranger, theirs, local(day, time(7)))).code == 422


# --- starts that are not slots ----------------------------------------------------------------


@pytest.mark.parametrize(
    "at", [time(9, 30), time(8), time(17), time(16, 59)], ids=["between", "early", "close", "odd"]
)
def test_a_start_that_is_not_one_of_the_service_s_slot_starts_is_refused(world, at):
    service = make_service(world.facility_a)
    person, family = relative(world.village_a)
    refusal = _refusal(lambda: book(service, person, family, slot_start(3, at)))
    assert refusal.code == 422
    assert "starts_at" in refusal.errors


def test_the_same_start_given_in_another_time_zone_is_the_same_slot(world):
    service = make_service(world.facility_a, capacity=2)
    start = slot_start(3)
    first, theirs = relative(world.village_a)
    second, others = relative(world.village_a)
    a = book(service, first, theirs, start)
    b = book(service, second, others, start.astimezone(local_zone()))
    assert b.starts_at.tzinfo is not None and b.starts_at == start
    assert a.slot_id == b.slot_id


def test_an_inactive_service_takes_no_bookings(world):
    service = make_service(world.facility_a, active=False)
    person, family = relative(world.village_a)
    assert _refusal(lambda: book(service, person, family, slot_start(3))).code == 422


def test_a_start_sent_without_an_offset_is_beijing_time(world):
    data = BookingSchema().load({"person_id": "1", "starts_at": "2026-06-03T09:00"})
    assert data["starts_at"] == local(date(2026, 6, 3), time(9))
    with_offset = BookingSchema().load({"person_id": "1", "starts_at": "2026-06-03T01:00:00Z"})
    assert with_offset["starts_at"] == local(date(2026, 6, 3), time(9))
