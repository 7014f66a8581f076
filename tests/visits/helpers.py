"""Builders for the visit tests: a person enrolled, visitors assigned, visits back-dated."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from eldercare.auth.models import User
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.visits import operations as ops
from eldercare.visits.models import CareAssignment, CareTarget

BEIJING = ZoneInfo("Asia/Shanghai")


def admin() -> User:
    user = db.session.scalar(db.select(User).where(User.role == "admin").order_by(User.id))
    if user is None:
        from tests.builders import build_user

        user = build_user("admin")
    return user


def build_target(
    person: Person,
    visitors: list[User] = (),
    enrolled_on: date | None = None,
    categories: tuple[str, ...] = ("lives_alone",),
) -> CareTarget:
    target = ops.enrol(person, admin(), categories, on=enrolled_on or local_today())
    for visitor in visitors:
        db.session.add(CareAssignment(target=target, visitor_id=visitor.id))
    db.session.flush()
    return target


def at(day: date, hour: int = 10) -> datetime:
    """A time on a county day, aware."""
    return datetime.combine(day, time(hour), tzinfo=BEIJING)


def visit_data(when: datetime | None = None, **kw) -> dict:
    data = {
        "visited_at": when or datetime.now(UTC) - timedelta(minutes=5),
        "method": "home",
        "living_conditions": "good",
        "health": "stable",
        "mood": "good",
        "family_support": "fulfilled",
        "summary": "",
    }
    data.update(kw)
    return data


def record(target: CareTarget, by: User, when: datetime | None = None, **kw):
    visit, _created = ops.record_visit(target, visit_data(when, **kw), by)
    return visit


def visit_form(when: datetime | None = None, **kw) -> dict:
    """The visit form as a browser sends it (Beijing wall-clock time)."""
    when = when or datetime.now(BEIJING) - timedelta(minutes=5)
    data = {k: v for k, v in visit_data(when, **kw).items() if k != "visited_at"}
    data["visited_at"] = when.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")
    return data


def visit_json(when: datetime | None = None, **kw) -> dict:
    """The visit as a field app sends it to the API (an ISO time with its offset)."""
    data = visit_data(when, **kw)
    data["visited_at"] = data["visited_at"].isoformat()
    return data
