"""A booking's calendar file: valid iCalendar with one event that has a stable UID, the
booking's times in UTC, the service in its title, and a status following the booking."""

from __future__ import annotations

from datetime import UTC, time, timedelta

import pytest
from icalendar import Calendar

from eldercare.bookings import operations as ops
from eldercare.bookings.ics import booking_ics
from tests.bookings.helpers import book, make_service, morning, slot_start


def _event(booking):
    calendar = Calendar.from_ical(booking_ics(booking))
    events = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    return calendar, events[0]


@pytest.fixture
def booking(world):
    service = make_service(world.facility_a, name="周末探视", auto_confirm=False)
    return book(service, world.person_a, world.user("family"), slot_start(3))


def test_the_file_has_one_event_with_the_booking_s_uid(app, booking):
    calendar, event = _event(booking)
    assert (
        str(event["uid"])
        == f"booking-{booking.id}@{app.config.get('ICS_DOMAIN', 'eldercare.local')}"
    )
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["prodid"])


def test_the_uid_stays_the_same_when_the_booking_changes(world, booking):
    _, before = _event(booking)
    ops.confirm(booking, world.user("operator"), now=morning())
    _, after = _event(booking)
    assert str(after["uid"]) == str(before["uid"])
    assert int(after["sequence"]) > int(before["sequence"])


def test_the_event_has_the_booking_s_times_in_utc(booking):
    _, event = _event(booking)
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert (start, end) == (booking.starts_at, booking.ends_at)
    assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0)
    assert start.astimezone(UTC) == slot_start(3) and end == slot_start(3, time(10))
    assert b"DTSTART:" in booking_ics(booking) and b"Z\r\n" in booking_ics(booking)


def test_the_title_names_the_service_and_the_relative(world, booking):
    _, event = _event(booking)
    assert "周末探视" in str(event["summary"])
    assert world.person_a.name in str(event["summary"])


def test_a_visit_happens_at_the_facility_and_a_home_service_at_the_place(world):
    world.facility_a.address = "马营镇中街1号"
    visit = book(
        make_service(world.facility_a), world.person_a, world.user("family"), slot_start(3)
    )
    meal = book(
        make_service(world.facility_a, kind="meal", name="助餐"),
        world.person_a,
        world.user("family"),
        slot_start(4),
        place="马营东村5组12号",
    )
    assert str(_event(visit)[1]["location"]) == "马营镇敬老院 马营镇中街1号"
    assert str(_event(meal)[1]["location"]) == "马营东村5组12号"


@pytest.mark.parametrize(
    "step, status",
    [
        (None, "TENTATIVE"),
        ("confirm", "CONFIRMED"),
        ("cancel", "CANCELLED"),
        ("complete", "CONFIRMED"),
    ],
)
def test_the_event_status_follows_the_booking(world, booking, step, status):
    operator = world.user("operator")
    if step in ("confirm", "complete"):
        ops.confirm(booking, operator, now=morning())
    if step == "cancel":
        ops.cancel(booking, world.user("family"), now=morning())
    if step == "complete":
        ops.finish(booking, "completed", operator, now=booking.starts_at)
    _, event = _event(booking)
    assert str(event["status"]) == status


def test_a_cancelled_booking_s_file_still_parses_with_its_uid(world, booking):
    ops.cancel(booking, world.user("family"), now=morning())
    calendar, event = _event(booking)
    assert str(event["uid"]).startswith(f"booking-{booking.id}@")
    assert event.decoded("dtstart") == booking.starts_at
    # Published, not an organizer's CANCEL message (which needs an ORGANIZER to be valid).
    assert str(calendar["method"]) == "PUBLISH"
