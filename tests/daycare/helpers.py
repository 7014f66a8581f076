"""Builders for the day-care tests: centers, members, attendance."""

from __future__ import annotations

from datetime import date, timedelta

from eldercare.core.db import local_today
from eldercare.daycare import operations as ops
from eldercare.daycare.models import Center, Member
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from tests.builders import build_person
from tests.visits.helpers import admin


def make_center(facility: Facility, **kw) -> Facility:
    """Make a facility a day-care center (open every day unless told otherwise)."""
    if facility.kind not in ("day_care", "happiness_home", "community_station"):
        facility.kind = "day_care"
    if db.session.scalar(db.select(Center).where(Center.facility_id == facility.id)) is None:
        db.session.add(
            Center(
                facility_id=facility.id,
                capacity=kw.get("capacity", 20),
                open_days=kw.get("open_days", [0, 1, 2, 3, 4, 5, 6]),
                meal_types=kw.get("meal_types", ["lunch", "dinner"]),
                meal_price_fen=kw.get("meal_price_fen", 1000),
            )
        )
    db.session.flush()
    return facility


def make_member(facility: Facility, person=None, joined: date | None = None, **kw) -> Member:
    person = person or build_person(facility.region)
    joined = joined or local_today() - timedelta(days=30)
    data = {"joined_on": joined, "days": [0, 1, 2, 3, 4, 5, 6]}
    data.update(kw)
    return ops.add_member(facility, person, data, admin())
