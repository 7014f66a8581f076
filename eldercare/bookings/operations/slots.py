"""When a service can be booked: its slots of a day, the places left, and the slot rows whose
counter is taken and given back atomically (``UPDATE ... WHERE booked < capacity``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from eldercare.bookings.models import (
    Blackout,
    Service,
    Slot,
)
from eldercare.core.db import local_date, local_zone, utcnow
from eldercare.core.errors import Invalid
from eldercare.extensions import db

#: Longest look-ahead of the booking page in one screen.
PAGE_DAYS = 14
# --- availability --------------------------------------------------------------------------


def slot_times(service: Service, day: date) -> list[tuple[datetime, datetime]]:
    """The slots of a service on a day, as UTC (start, end), from its hours and slot length;
    a slot as long as the opening hours or longer is the whole day (a trial day)."""
    zone = local_zone()
    opens = datetime.combine(day, service.opens_at, zone)
    closes = datetime.combine(day, service.closes_at, zone)
    step = timedelta(minutes=service.slot_minutes)
    if opens + step >= closes:
        return [(opens.astimezone(UTC), closes.astimezone(UTC))]
    out = []
    start = opens
    while start + step <= closes:
        out.append((start.astimezone(UTC), (start + step).astimezone(UTC)))
        start += step
    return out


def _blackout_days(service: Service, first: date, last: date) -> set[date]:
    return set(
        db.session.scalars(
            sa.select(Blackout.day).where(
                Blackout.facility_id == service.facility_id,
                Blackout.day.between(first, last),
                sa.or_(Blackout.service_id.is_(None), Blackout.service_id == service.id),
            )
        )
    )


def window(service: Service, now: datetime) -> tuple[datetime, date]:
    """The earliest start one may book now, and the last day one may book."""
    return (
        now + timedelta(hours=service.min_notice_hours),
        local_date(now) + timedelta(days=service.max_days_ahead),
    )


@dataclass(frozen=True)
class SlotView:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass
class DayView:
    day: date
    slots: list[SlotView] = field(default_factory=list)
    closed_reason: str | None = None

    @property
    def free(self) -> int:
        return sum(s.free for s in self.slots)


def availability(
    service: Service, now: datetime | None = None, first: date | None = None, days: int = 7
) -> list[DayView]:
    """The bookable slots of ``days`` days from ``first`` (today): weekdays and hours of the
    service, no blackout day, not before the minimum notice nor past the last day ahead, and
    the places left (one query for the slots already booked)."""
    now = now or utcnow()
    today = local_date(now)
    first = max(first or today, today)
    earliest, last_day = window(service, now)
    last = min(first + timedelta(days=days - 1), last_day)
    if last < first:
        return []
    closed = _blackout_days(service, first, last)
    taken = {
        row.starts_at: row
        for row in db.session.scalars(
            sa.select(Slot).where(
                Slot.service_id == service.id,
                Slot.starts_at >= datetime.combine(first, time(0), local_zone()),
                Slot.starts_at < datetime.combine(last + timedelta(days=1), time(0), local_zone()),
            )
        )
    }
    out = []
    day = first
    while day <= last:
        if day.weekday() in (service.weekdays or []):
            view = DayView(day)
            if day in closed:
                view.closed_reason = "closed"
            else:
                for start, end in slot_times(service, day):
                    if start < earliest:
                        continue
                    row = taken.get(start)
                    view.slots.append(
                        SlotView(
                            start,
                            end,
                            row.capacity if row else service.capacity,
                            row.booked if row else 0,
                        )
                    )
            out.append(view)
        day += timedelta(days=1)
    return out


def _check_bookable(service: Service, starts_at: datetime, now: datetime) -> datetime:
    """The end of the slot starting at ``starts_at``, or Invalid saying why it cannot be
    booked."""
    starts_at = starts_at.astimezone(UTC)
    day = local_date(starts_at)
    earliest, last_day = window(service, now)
    if not service.active or not service.facility.active:
        raise Invalid(_l("This service is not taking bookings."))
    if starts_at < now:
        raise Invalid(errors={"starts_at": [_l("This time has passed.")]})
    if starts_at < earliest:
        raise Invalid(
            errors={
                "starts_at": [
                    _l(
                        "Bookings must be made at least %(hours)s hours ahead.",
                        hours=service.min_notice_hours,
                    )
                ]
            }
        )
    if day > last_day:
        raise Invalid(
            errors={
                "starts_at": [
                    _l(
                        "Bookings can be made at most %(days)s days ahead.",
                        days=service.max_days_ahead,
                    )
                ]
            }
        )
    if day.weekday() not in (service.weekdays or []) or _blackout_days(service, day, day):
        raise Invalid(errors={"starts_at": [_l("The service is closed on this day.")]})
    for start, end in slot_times(service, day):
        if start == starts_at:
            return end
    raise Invalid(errors={"starts_at": [_l("This is not one of the service's times.")]})


def _slot_for(service: Service, starts_at: datetime, ends_at: datetime) -> Slot:
    """The slot row, written if this is its first booking (concurrent writers: one row)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(Slot)
        .values(
            service_id=service.id,
            facility_id=service.facility_id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=service.capacity,
            booked=0,
        )
        .on_conflict_do_nothing(index_elements=["service_id", "starts_at"])
    )
    return db.session.execute(
        sa.select(Slot)
        .where(Slot.service_id == service.id, Slot.starts_at == starts_at)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _take_place(slot: Slot) -> bool:
    """Take one place if one is left, atomically; whether it was taken."""
    result = db.session.execute(
        sa.update(Slot)
        .where(Slot.id == slot.id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(slot)
    return result.rowcount == 1


def _give_back_place(slot_id: int) -> None:
    # "fetch": a Slot already in the session learns its new count (a stale one would be
    # shown, and checked against, as if the place were still taken).
    db.session.execute(
        sa.update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session="fetch")
    )


FULL = _l("This time is fully booked. Please choose another time.")
