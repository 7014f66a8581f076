"""The scheduled work of bookings: requests nobody answered lapse at their start, and families
hear the day before (Beijing days) of each confirmed booking; a second run does nothing."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from eldercare.bookings import operations as ops
from eldercare.bookings import tasks
from eldercare.bookings.models import Booking
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from tests.bookings.helpers import (
    book,
    counts_agree,
    local,
    make_service,
    messages,
    morning,
    relative,
    slot_start,
    today,
)


def _outbox() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))


# --- lapsed requests --------------------------------------------------------------------------


@pytest.fixture
def requests_only(world):
    return make_service(world.facility_a, auto_confirm=False, name="预约探视")


def test_a_request_not_answered_by_its_start_lapses_and_the_family_is_told(world, requests_only):
    family = world.user("family")
    booking = book(requests_only, world.person_a, family, slot_start(3))
    assert tasks.expire_requests(now=slot_start(3)) == 1
    booking = db.session.get(Booking, booking.id)
    assert (booking.status, booking.reason) == ("cancelled", "not_answered")
    assert booking.ended_at == slot_start(3)
    rows = messages(family, f"booking-expired:{booking.id}:")
    assert [(m.channel, m.link) for m in rows] == [("inapp", f"/bookings/{booking.id}")]
    assert requests_only.name in rows[0].subject and world.person_a.name in rows[0].body
    assert counts_agree(booking)


def test_a_request_still_to_come_does_not_lapse(world, requests_only):
    booking = book(requests_only, world.person_a, world.user("family"), slot_start(3))
    assert tasks.expire_requests(now=slot_start(3) - timedelta(seconds=1)) == 0
    assert db.session.get(Booking, booking.id).status == "requested"


def test_a_confirmed_booking_never_lapses(world):
    service = make_service(world.facility_a)
    booking = book(service, world.person_a, world.user("family"), slot_start(3))
    assert tasks.expire_requests(now=slot_start(3, time(12))) == 0
    assert db.session.get(Booking, booking.id).status == "confirmed"


def test_a_second_run_lapses_nothing_and_tells_nobody_again(world, requests_only):
    book(requests_only, world.person_a, world.user("family"), slot_start(3))
    later = slot_start(3, time(12))
    tasks.expire_requests(now=later)
    sent = _outbox()
    assert tasks.expire_requests(now=later + timedelta(minutes=15)) == 0
    assert _outbox() == sent


def test_only_requests_whose_start_has_come_lapse(world, requests_only):
    soon, theirs = relative(world.village_a)
    early = book(requests_only, soon, theirs, slot_start(3, time(9)))
    late = book(requests_only, world.person_a, world.user("family"), slot_start(3, time(15)))
    assert tasks.expire_requests(now=slot_start(3, time(12))) == 1
    assert db.session.get(Booking, early.id).status == "cancelled"
    assert db.session.get(Booking, late.id).status == "requested"


# --- reminders --------------------------------------------------------------------------------


@pytest.fixture
def round_the_clock(world):
    """Bookable from midnight to midnight Beijing time, hour by hour, without notice."""
    return make_service(
        world.facility_a,
        opens_at=time(0),
        closes_at=time(23, 59),
        min_notice_hours=0,
        capacity=5,
        name="全天探视",
    )


def _booked(service, days, at, region):
    person, family = relative(region)
    return book(service, person, family, slot_start(days, at)), family


def test_reminders_go_to_confirmed_bookings_of_tomorrow_beijing_time(world, round_the_clock):
    # 07:00 Beijing time tomorrow is still today in UTC; 22:00 tomorrow is tomorrow in UTC too.
    seven, seven_family = _booked(round_the_clock, 1, time(7), world.village_a)
    assert seven.starts_at.date() == today()
    eleven_pm, late_family = _booked(round_the_clock, 1, time(22), world.village_a)
    # Midnight after tomorrow is tomorrow in UTC, but another Beijing day.
    midnight, midnight_family = _booked(round_the_clock, 2, time(0), world.village_a)
    assert midnight.starts_at.date() == today() + timedelta(days=1)
    _, today_family = _booked(round_the_clock, 0, time(18), world.village_a)

    assert tasks.send_reminders(now=morning()) == 2  # in-app each; no e-mail, no phone
    for booking, family in ((seven, seven_family), (eleven_pm, late_family)):
        rows = messages(family, f"booking-reminder:{booking.id}:")
        assert [(m.channel, m.link) for m in rows] == [("inapp", f"/bookings/{booking.id}")]
        assert round_the_clock.name in rows[0].subject
    assert messages(midnight_family, "booking-reminder:") == []
    assert messages(today_family, "booking-reminder:") == []


def test_requests_and_cancelled_bookings_get_no_reminder(world, round_the_clock):
    waiting = make_service(world.facility_a, auto_confirm=False, min_notice_hours=0, name="申请")
    _, request_family = _booked(waiting, 1, time(9), world.village_a)
    cancelled, cancelled_family = _booked(round_the_clock, 1, time(10), world.village_a)
    ops.cancel(cancelled, cancelled_family, now=morning())
    assert tasks.send_reminders(now=morning()) == 0
    assert messages(request_family, "booking-reminder:") == []
    assert messages(cancelled_family, "booking-reminder:") == []


def test_a_second_run_of_reminders_enqueues_nothing(world, round_the_clock):
    _booked(round_the_clock, 1, time(9), world.village_a)
    assert tasks.send_reminders(now=morning()) == 1
    sent = _outbox()
    assert tasks.send_reminders(now=morning() + timedelta(hours=3)) == 0
    assert _outbox() == sent


def test_after_midnight_beijing_time_tomorrow_is_the_next_beijing_day(world, round_the_clock):
    """At 04:00 Beijing time (20:00 UTC the day before) the reminders are for the day after
    the Beijing today, not the UTC one."""
    day_after, family = _booked(round_the_clock, 2, time(9), world.village_a)
    _, other_family = _booked(round_the_clock, 1, time(9), world.village_a)
    early = local(today() + timedelta(days=1), time(4))
    assert early.date() == today()  # still today in UTC
    assert tasks.send_reminders(now=early) == 1
    assert len(messages(family, f"booking-reminder:{day_after.id}:")) == 1
    assert messages(other_family, "booking-reminder:") == []


def test_a_reminder_reaches_the_family_by_e_mail_too(world, round_the_clock):
    person, family = relative(world.village_a)
    family.email = "daughter@example.cn"
    booking = book(round_the_clock, person, family, slot_start(1, time(9)))
    tasks.send_reminders(now=morning())
    rows = messages(family, f"booking-reminder:{booking.id}:")
    assert sorted(m.channel for m in rows) == ["email", "inapp"]
    assert all(person.name in m.body for m in rows)
