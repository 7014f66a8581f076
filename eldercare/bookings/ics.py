"""A booking as an iCalendar file (RFC 5545), for the family's phone calendar."""

from __future__ import annotations

from flask import current_app
from icalendar import Calendar, Event

from eldercare.bookings.models import Booking, BookingStatus
from eldercare.core.db import utcnow

#: iCalendar STATUS of each booking state: a cancelled booking's file removes the event.
ICS_STATUS = {
    BookingStatus.REQUESTED.value: "TENTATIVE",
    BookingStatus.CONFIRMED.value: "CONFIRMED",
    BookingStatus.COMPLETED.value: "CONFIRMED",
    BookingStatus.NO_SHOW.value: "CONFIRMED",
    BookingStatus.CANCELLED.value: "CANCELLED",
}


def booking_ics(booking: Booking) -> bytes:
    """One VEVENT with a stable UID, so a calendar updates the event when the file is
    downloaded again after a change (SEQUENCE grows with each change of state)."""
    domain = current_app.config.get("ICS_DOMAIN", "eldercare.local")
    calendar = Calendar()
    calendar.add("prodid", "-//eldercare//bookings//ZH")
    calendar.add("version", "2.0")
    # PUBLISH whatever the state: a cancelled booking is an event with STATUS:CANCELLED.
    # (METHOD:CANCEL is an organizer's message to attendees, invalid without an ORGANIZER,
    # which calendars may refuse to import.)
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"booking-{booking.id}@{domain}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", f"{booking.service.name} · {booking.person.name}")
    facility = booking.facility
    event.add("location", booking.place or f"{facility.name} {facility.address}".strip())
    lines = [facility.name]
    if facility.contact_phone:
        lines.append(facility.contact_phone)
    if booking.note:
        lines.append(booking.note)
    event.add("description", "\n".join(lines))
    event.add("status", ICS_STATUS[booking.status])
    event.add("sequence", _sequence(booking))
    calendar.add_component(event)
    return calendar.to_ical()


def _sequence(booking: Booking) -> int:
    if booking.status == BookingStatus.REQUESTED.value:
        return 0
    if booking.status == BookingStatus.CANCELLED.value:
        return 2
    return 1
