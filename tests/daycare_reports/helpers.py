"""Builders for day-care records (plain model constructors: the figures are checked against
rows written here, not through the day-care operations)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from eldercare.daycare.models import (
    Activity,
    Attendance,
    Center,
    ClosedDay,
    Incident,
    Meal,
    Member,
)
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Region
from tests.builders import build_facility

BEIJING = ZoneInfo("Asia/Shanghai")


def local(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A county (Beijing) time on ``day``, as stored: aware UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING).astimezone(UTC)


def build_center(
    region: Region, kind: str = "day_care", settings: dict | None = None, **kw
) -> Facility:
    """A day-care facility; with ``settings`` also its Center row (else the defaults hold)."""
    facility = build_facility(region, kind=kind, **kw)
    if settings is not None:
        db.session.add(Center(facility_id=facility.id, **settings))
        db.session.flush()
    return facility


def _add(record):
    db.session.add(record)
    db.session.flush()
    return record


def closed(facility: Facility, day: date) -> ClosedDay:
    return _add(ClosedDay(facility_id=facility.id, day=day, reason="检修"))


def member(facility: Facility, person: Person, joined_on: date, left_on: date | None = None):
    return _add(
        Member(
            facility_id=facility.id,
            person_id=person.id,
            joined_on=joined_on,
            left_on=left_on,
            days=[0, 1, 2, 3, 4],
        )
    )


def attend(facility: Facility, person: Person, day: date, walk_in: bool = False) -> Attendance:
    return _add(
        Attendance(
            facility_id=facility.id,
            person_id=person.id,
            day=day,
            check_in_at=local(day, 8, 30),
            check_out_at=local(day, 16),
            walk_in=walk_in,
        )
    )


def meal(
    facility: Facility,
    person: Person,
    day: date,
    meal_type: str = "lunch",
    subsidised: bool = False,
    price_fen: int = 1000,
) -> Meal:
    return _add(
        Meal(
            facility_id=facility.id,
            person_id=person.id,
            day=day,
            meal_type=meal_type,
            subsidised=subsidised,
            price_fen=price_fen,
        )
    )


def activity(facility: Facility, starts_at: datetime, participants=()) -> Activity:
    return _add(
        Activity(
            facility_id=facility.id,
            title="健身操",
            category="exercise",
            starts_at=starts_at,
            ends_at=starts_at,
            participants=list(participants),
        )
    )


def incident(facility: Facility, at: datetime, risk: str, closed_at: datetime | None = None):
    return _add(
        Incident(
            facility_id=facility.id,
            occurred_at=at,
            risk=risk,
            severity="minor",
            description="在活动室滑倒，膝盖擦伤",
            closed_at=closed_at,
            resolution="已处理" if closed_at else "",
        )
    )
