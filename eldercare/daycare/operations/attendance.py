"""The day's roster: who is expected and who came, one-tap check-in and check-out, meals
served."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from eldercare.core.db import utcnow
from eldercare.core.errors import Conflict, Invalid
from eldercare.daycare.models import Attendance, ClosedDay, Meal, Member
from eldercare.daycare.operations.common import (
    audit_center,
    center_of,
    not_future,
    open_on,
    require_operator,
    runs_daycare,
    still_editable,
)
from eldercare.daycare.operations.members import member_on
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person


@dataclass
class RosterRow:
    person: Person
    member: Member | None
    expected: bool
    attendance: Attendance | None = None
    meals: dict[str, Meal] = field(default_factory=dict)


@dataclass
class Roster:
    day: date
    is_open: bool
    closed_reason: str
    rows: list[RosterRow]

    @property
    def present(self) -> int:
        """On site now: checked in and not yet checked out (the front desk's count)."""
        return sum(
            1 for r in self.rows if r.attendance is not None and r.attendance.check_out_at is None
        )

    @property
    def came(self) -> int:
        """Checked in on the day, whether gone home since or not."""
        return sum(1 for r in self.rows if r.attendance is not None)


def roster(facility: Facility, day: date) -> Roster:
    """Who is expected on a day (members whose days include it) and who came (walk-ins and
    members on another day included), with their check-in, check-out and meals: 3 queries."""
    center = center_of(facility)
    closed = db.session.scalar(
        sa.select(ClosedDay).where(ClosedDay.facility_id == facility.id, ClosedDay.day == day)
    )
    members = db.session.scalars(
        sa.select(Member)
        .where(
            Member.facility_id == facility.id,
            Member.joined_on <= day,
            sa.or_(Member.left_on.is_(None), Member.left_on >= day),
        )
        .options(joinedload(Member.person))
    ).all()
    attended = db.session.scalars(
        sa.select(Attendance)
        .where(Attendance.facility_id == facility.id, Attendance.day == day)
        .options(joinedload(Attendance.person))
    ).all()
    meals = db.session.scalars(
        sa.select(Meal).where(Meal.facility_id == facility.id, Meal.day == day)
    ).all()
    rows: dict[int, RosterRow] = {}
    for m in members:
        if m.expected_on(day):
            rows[m.person_id] = RosterRow(m.person, m, True)
    by_person = {m.person_id: m for m in members}
    for a in attended:
        row = rows.get(a.person_id) or RosterRow(a.person, by_person.get(a.person_id), False)
        row.attendance = a
        rows[a.person_id] = row
    for meal in meals:
        if meal.person_id in rows:
            rows[meal.person_id].meals[meal.meal_type] = meal
    ordered = sorted(rows.values(), key=lambda r: (not r.expected, r.person.name, r.person.id))
    return Roster(
        day, center.is_open_on(day) and closed is None, closed.reason if closed else "", ordered
    )


def check_in(
    facility: Facility, person: Person, day: date, by, at: datetime | None = None
) -> Attendance:
    """One tap: the person is here today. A person who is not a member that day is a
    walk-in. Twice the same day is refused (the database holds it too)."""
    require_operator(by, facility.id)
    if not runs_daycare(facility):
        raise Conflict(_l("This facility does not run day care."))
    not_future(day)
    still_editable(day)
    open_on(facility, day)
    if person.death_date is not None and person.death_date <= day:
        raise Conflict(_l("This person has died."))
    existing = db.session.scalar(
        sa.select(Attendance.id).where(
            Attendance.facility_id == facility.id,
            Attendance.day == day,
            Attendance.person_id == person.id,
        )
    )
    if existing is not None:
        raise Conflict(_l("Already checked in on this day."))
    member = member_on(facility.id, person.id, day)
    attendance = Attendance(
        facility_id=facility.id,
        person_id=person.id,
        person=person,
        day=day,
        check_in_at=(at or utcnow()).astimezone(UTC),
        walk_in=member is None,
        recorded_by_id=by.id,
    )
    db.session.add(attendance)
    db.session.flush()
    audit_center(
        "daycare.checked_in",
        attendance,
        by,
        facility.id,
        changes={"day": [None, day], "walk_in": [None, attendance.walk_in]},
    )
    return attendance


def check_out(attendance: Attendance, by, at: datetime | None = None) -> Attendance:
    require_operator(by, attendance.facility_id)
    if attendance.check_out_at is not None:
        raise Conflict(_l("Already checked out."))
    at = (at or utcnow()).astimezone(UTC)
    attendance.check_out_at = max(at, attendance.check_in_at)
    db.session.flush()
    audit_center(
        "daycare.checked_out",
        attendance,
        by,
        attendance.facility_id,
        changes={"check_out_at": [None, attendance.check_out_at]},
    )
    return attendance


def cancel_attendance(attendance: Attendance, by) -> None:
    """Undo a check-in tapped by mistake (the meals of that person that day go with it)."""
    require_operator(by, attendance.facility_id)
    still_editable(attendance.day)
    for meal in db.session.scalars(
        sa.select(Meal).where(
            Meal.facility_id == attendance.facility_id,
            Meal.day == attendance.day,
            Meal.person_id == attendance.person_id,
        )
    ):
        db.session.delete(meal)
    audit_center(
        "daycare.check_in_cancelled",
        attendance,
        by,
        attendance.facility_id,
        changes={"day": [attendance.day, None]},
    )
    db.session.delete(attendance)
    db.session.flush()


def serve_meal(
    facility: Facility,
    person: Person,
    day: date,
    meal_type: str,
    by,
    subsidised: bool | None = None,
) -> Meal:
    """A meal served to a person; subsidised by default when the member's meals are. Once
    per person, day and meal type."""
    require_operator(by, facility.id)
    if not runs_daycare(facility):
        raise Conflict(_l("This facility does not run day care."))
    not_future(day)
    still_editable(day)
    open_on(facility, day)
    center = center_of(facility)
    if meal_type not in (center.meal_types or []):
        raise Invalid(errors={"meal_type": [_l("This center does not serve this meal.")]})
    exists = db.session.scalar(
        sa.select(Meal.id).where(
            Meal.facility_id == facility.id,
            Meal.day == day,
            Meal.person_id == person.id,
            Meal.meal_type == meal_type,
        )
    )
    if exists is not None:
        raise Conflict(_l("This meal is already recorded."))
    if subsidised is None:  # as the membership of that day says (a back-dated meal too)
        member = member_on(facility.id, person.id, day)
        subsidised = bool(member and member.subsidised_meals)
    meal = Meal(
        facility_id=facility.id,
        person_id=person.id,
        day=day,
        meal_type=meal_type,
        subsidised=subsidised,
        price_fen=center.meal_price_fen,
        recorded_by_id=by.id,
    )
    db.session.add(meal)
    db.session.flush()
    audit_center(
        "daycare.meal_served",
        meal,
        by,
        facility.id,
        changes={"meal_type": [None, meal_type], "subsidised": [None, subsidised]},
    )
    return meal


def remove_meal(meal: Meal, by) -> None:
    require_operator(by, meal.facility_id)
    still_editable(meal.day)
    audit_center(
        "daycare.meal_removed",
        meal,
        by,
        meal.facility_id,
        changes={"meal_type": [meal.meal_type, None], "day": [meal.day, None]},
    )
    db.session.delete(meal)
    db.session.flush()
