"""What can be done with bookings, by lifecycle: ``services`` (services, hours, blackout
days), ``slots`` (availability and the slot counters), ``lifecycle`` (book, confirm, cancel,
finish), ``admission`` (the bed an application keeps), ``queries`` (the lists pages show),
``sweeps`` (what the scheduled jobs do) and ``departures`` (the bookings of the dead and the
moved out, for the registry's event and its repair sweep). Operations never commit.

No overbooking: a slot's place is taken only by ``UPDATE booking_slot SET booked = booked + 1
WHERE id = ? AND booked < capacity``; the database evaluates the condition on the latest
committed row, so of any number of simultaneous bookings exactly ``capacity`` succeed.

The names other features and the tests use are re-exported here.
"""

from eldercare.bookings.models import DECEASED_REASON, MOVED_OUT_REASON
from eldercare.bookings.operations.departures import (
    cancel_for_departure,
    departure_effect,
    repair_departed,
)
from eldercare.bookings.operations.lifecycle import (
    book,
    can_cancel,
    cancel,
    cancel_for_revoked_link,
    confirm,
    finish,
)
from eldercare.bookings.operations.queries import bookings_of_person, check_counts
from eldercare.bookings.operations.services import (
    add_blackout,
    remove_blackout,
    save_service,
    services_of,
)
from eldercare.bookings.operations.slots import FULL, availability, slot_times
from eldercare.bookings.operations.sweeps import due_reminders, expire_requests

__all__ = [
    "DECEASED_REASON",
    "FULL",
    "MOVED_OUT_REASON",
    "add_blackout",
    "availability",
    "book",
    "bookings_of_person",
    "can_cancel",
    "cancel",
    "cancel_for_departure",
    "cancel_for_revoked_link",
    "check_counts",
    "confirm",
    "departure_effect",
    "due_reminders",
    "expire_requests",
    "finish",
    "remove_blackout",
    "repair_departed",
    "save_service",
    "services_of",
    "slot_times",
]
