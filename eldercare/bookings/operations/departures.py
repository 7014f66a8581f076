"""A person who died or moved out of the county books nothing more: their open bookings that
have not ended yet are cancelled (the places given back, an admission's bed released) and
the facility told. One operation for the registry's event and for the nightly repair sweep;
the family hears of it in the registry's one notice (``departure_effect``), never from here."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from eldercare.bookings import notices
from eldercare.bookings.models import (
    DECEASED_REASON,
    MOVED_OUT_REASON,
    OPEN_STATUSES,
    Booking,
)
from eldercare.bookings.operations.lifecycle import _cancelled, _operators
from eldercare.core.db import local_date, utcnow
from eldercare.core.templating import local_time
from eldercare.extensions import db
from eldercare.notifications.operations import notify_many
from eldercare.people.models import Person
from eldercare.people.signals import Effect

#: The audit note of what the repair sweep cancels (the event should have done it).
REPAIR_NOTE = "repair"


def departure_reason(person: Person) -> str | None:
    """Why the person's bookings end: died, or moved out of the county; None if neither."""
    if person.death_date is not None:
        return DECEASED_REASON
    if person.moved_out_on is not None:
        return MOVED_OUT_REASON
    return None


def _still_open(now: datetime):
    """Open bookings that have not ended by ``now`` (one that has is the operator's to
    record as done or missed)."""
    return sa.and_(Booking.status.in_(OPEN_STATUSES), Booking.ends_at > now)


def cancel_for_departure(
    person: Person, by, now: datetime | None = None, *, repair: bool = False
) -> list[Booking]:
    """Cancel the person's open bookings that have not ended, if the person died or moved
    out (locked, in booking order): each confirmed one gives its place back and an
    admission's bed reservation ends (already ended, by the beds feature in the same
    event, is fine); the facility's operators are told. The cancelled bookings; none when
    called again."""
    now = now or utcnow()
    reason = departure_reason(person)
    if reason is None:
        return []
    bookings = list(
        db.session.scalars(
            sa.select(Booking)
            .where(Booking.person_id == person.id, _still_open(now))
            .order_by(Booking.starts_at, Booking.id)
            .with_for_update(of=Booking)
            .execution_options(populate_existing=True)
        )
    )
    for booking in bookings:
        _cancelled(booking, by, reason, now, note=REPAIR_NOTE if repair else None)
        notify_many(notices.cancelled_for_departure(booking, _operators(booking.facility_id)))
    return bookings


def departed_with_open_bookings(now: datetime) -> list[Person]:
    """The dead and the moved out who still have an open booking that has not ended: what
    the repair sweep finds (none when every event was answered)."""
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(
                sa.or_(Person.death_date.is_not(None), Person.moved_out_on.is_not(None)),
                sa.exists().where(Booking.person_id == Person.id, _still_open(now)),
            )
            .order_by(Person.id)
        )
    )


def repair_departed(now: datetime | None = None) -> int:
    """The repair sweep: the open bookings of the dead and the moved out, cancelled by the
    same operation as the event's (no family notice: the event told them). The count."""
    now = now or utcnow()
    return sum(
        len(cancel_for_departure(person, None, now, repair=True))
        for person in departed_with_open_bookings(now)
    )


# --- what the recorder and the family are told ------------------------------------------


def _line(booking: Booking) -> LazyString:
    """ "12月9日 09:00 助浴（XX日间照料中心）", in the reader's language."""
    day = local_date(booking.starts_at)
    return _l(
        "%(day)s %(service)s (%(facility)s)",
        day=_l(
            "%(month)s/%(day)s %(time)s",
            month=day.month,
            day=day.day,
            time=local_time(booking.starts_at, "%H:%M"),
        ),
        service=booking.service.name,
        facility=booking.facility.name,
    )


def _listed(bookings: list[Booking]) -> LazyString:
    lines = [_line(b) for b in bookings]
    return LazyString(lambda: _("; ").join(str(line) for line in lines))


def departure_effect(bookings: list[Booking]) -> Effect | None:
    """What the recorder's page and the relatives' one notice say of the bookings cancelled
    (None when there were none)."""
    if not bookings:
        return None
    listed = _listed(bookings)
    return Effect(
        "bookings",
        _l("Bookings cancelled, places given back: %(bookings)s", bookings=listed),
        family=_l("Bookings cancelled: %(bookings)s", bookings=listed),
    )
