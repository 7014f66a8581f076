"""Day-care operations: a center's settings and closed days, members, one-tap attendance and
meals, activities and incidents. Operators act on their own center; staff of the area read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from eldercare.core import audit
from eldercare.core.db import day_start, local_today, utcnow
from eldercare.core.errors import CONSTRAINT_MESSAGES, AppError, Conflict, Invalid
from eldercare.core.masking import mask_phone
from eldercare.core.permissions import operates
from eldercare.daycare.models import (
    DAYCARE_KINDS,
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

# A race past an operation's own check ends at the database: PostgreSQL names the constraint,
# SQLite the columns.
_TWICE = {
    "attendance": (
        ("facility_id", "day", "person_id"),
        _l("Already checked in on this day."),
    ),
    "meal": (
        ("facility_id", "day", "person_id", "meal_type"),
        _l("This meal is already recorded."),
    ),
    "closed_day": (("facility_id", "day"), _l("This day is already closed.")),
}
for _table, (_columns, _message) in _TWICE.items():
    CONSTRAINT_MESSAGES[f"uq_daycare_{_table}_{'_'.join(_columns)}"] = _message
    CONSTRAINT_MESSAGES[", ".join(f"daycare_{_table}.{c}" for c in _columns)] = _message
CONSTRAINT_MESSAGES["uq_daycare_member_current"] = _l("This person is already a member.")
CONSTRAINT_MESSAGES["daycare_member.facility_id, daycare_member.person_id"] = _l(
    "This person is already a member."
)


def runs_daycare(facility: Facility) -> bool:
    return facility.kind in DAYCARE_KINDS


def _require_operator(user, facility_id: int) -> None:
    if not operates(user, facility_id):
        raise AppError(403, _l("You do not have permission to do this."))


def center_of(facility: Facility) -> Center:
    """The center's settings; a center never configured has the defaults (unsaved)."""
    center = db.session.scalar(sa.select(Center).where(Center.facility_id == facility.id))
    if center is None:
        center = Center(
            facility_id=facility.id,
            capacity=Center.capacity.default.arg,
            open_days=[0, 1, 2, 3, 4],
            meal_types=["lunch"],
            meal_price_fen=Center.meal_price_fen.default.arg,
        )
    return center


def _audit(action: str, record, by, facility_id: int, **entry) -> None:
    """Filed under the center's area, so the county's staff find it in the audit log."""
    entry["region_id"] = db.session.get(Facility, facility_id).region_id
    audit.record(action, record, actor=by, facility_id=facility_id, **entry)


def save_center(facility: Facility, data: dict, by) -> Center:
    _require_operator(by, facility.id)
    center = db.session.scalar(
        sa.select(Center).where(Center.facility_id == facility.id).with_for_update()
    )
    before = {}
    if center is None:
        center = center_of(facility)
        db.session.add(center)
    else:
        before = {k: getattr(center, k) for k in data}
    for key, value in data.items():
        setattr(center, key, value)
    db.session.flush()
    _audit(
        "daycare.center_saved",
        center,
        by,
        facility.id,
        changes=audit.changes_between(
            {k: str(v) for k, v in before.items()}, {k: str(getattr(center, k)) for k in data}
        ),
    )
    return center


def closed_days(facility_id: int, start: date, end: date) -> set[date]:
    """Closed days in [start, end)."""
    return set(
        db.session.scalars(
            sa.select(ClosedDay.day).where(
                ClosedDay.facility_id == facility_id, ClosedDay.day >= start, ClosedDay.day < end
            )
        )
    )


def add_closed_day(facility: Facility, day: date, reason: str, by) -> ClosedDay:
    _require_operator(by, facility.id)
    _still_editable(day)
    taken = db.session.scalar(
        sa.select(Attendance.id).where(Attendance.facility_id == facility.id, Attendance.day == day)
    )
    if taken is not None:
        raise Conflict(errors={"day": [_l("People were checked in on this day.")]})
    if db.session.scalar(
        sa.select(ClosedDay.id).where(ClosedDay.facility_id == facility.id, ClosedDay.day == day)
    ):
        raise Conflict(errors={"day": [_l("This day is already closed.")]})
    closed = ClosedDay(facility_id=facility.id, day=day, reason=reason)
    db.session.add(closed)
    db.session.flush()
    _audit("daycare.closed_day_added", closed, by, facility.id, changes={"day": [None, day]})
    return closed


def remove_closed_day(closed: ClosedDay, by) -> None:
    _require_operator(by, closed.facility_id)
    _still_editable(closed.day)
    _audit(
        "daycare.closed_day_removed",
        closed,
        by,
        closed.facility_id,
        changes={"day": [closed.day, None]},
    )
    db.session.delete(closed)
    db.session.flush()


# --- members --------------------------------------------------------------------------------


def current_member(facility_id: int, person_id: int) -> Member | None:
    return db.session.scalar(
        sa.select(Member).where(
            Member.facility_id == facility_id,
            Member.person_id == person_id,
            Member.left_on.is_(None),
        )
    )


def member_on(facility_id: int, person_id: int, day: date) -> Member | None:
    """The membership that covers a day (joined on or before it, not left before it)."""
    return db.session.scalar(
        sa.select(Member).where(
            Member.facility_id == facility_id,
            Member.person_id == person_id,
            Member.joined_on <= day,
            sa.or_(Member.left_on.is_(None), Member.left_on >= day),
        )
    )


MEMBER_FIELDS = (
    "days",
    "transport",
    "subsidised_meals",
    "dietary_notes",
    "emergency_contact",
    "emergency_phone",
)


def _member_snapshot(member: Member) -> dict:
    """Audit view of a membership: the phone masked, the dietary notes (health data) only as
    a fingerprint that changes when they do."""
    notes = member.dietary_notes or ""
    return {
        "days": ",".join(str(d) for d in sorted(member.days or [])),
        "transport": member.transport,
        "subsidised_meals": member.subsidised_meals,
        "emergency_contact": member.emergency_contact,
        "emergency_phone": mask_phone(member.emergency_phone),
        "dietary_notes": hashlib.sha256(notes.encode()).hexdigest()[:8] if notes else "",
        "left_on": member.left_on,
    }


def add_member(facility: Facility, person: Person, data: dict, by) -> Member:
    """Enrol a registered person as a member of the center from ``joined_on``."""
    _require_operator(by, facility.id)
    if not runs_daycare(facility):
        raise Conflict(_l("This facility does not run day care."))
    if person.death_date is not None:
        raise Conflict(_l("This person has died."))
    if current_member(facility.id, person.id) is not None:
        raise Conflict(_l("This person is already a member."))
    member = Member(
        facility_id=facility.id,
        person_id=person.id,
        person=person,
        joined_on=data["joined_on"],
        **{k: data.get(k) for k in MEMBER_FIELDS if k in data},
    )
    db.session.add(member)
    db.session.flush()
    _audit(
        "daycare.member_added",
        member,
        by,
        facility.id,
        changes=audit.changes_between({}, _member_snapshot(member)),
    )
    return member


def update_member(member: Member, data: dict, by) -> Member:
    _require_operator(by, member.facility_id)
    before = _member_snapshot(member)
    for key in MEMBER_FIELDS:
        if key in data:
            setattr(member, key, data[key])
    db.session.flush()
    _audit(
        "daycare.member_updated",
        member,
        by,
        member.facility_id,
        changes=audit.changes_between(before, _member_snapshot(member)),
    )
    return member


def end_membership(member: Member, on: date, by) -> Member:
    _require_operator(by, member.facility_id)
    if member.left_on is not None:
        raise Conflict(_l("This person has already left."))
    if on < member.joined_on:
        raise Invalid(errors={"left_on": [_l("The date is before the person joined.")]})
    member.left_on = on
    db.session.flush()
    _audit(
        "daycare.member_left",
        member,
        by,
        member.facility_id,
        changes={"left_on": [None, on]},
    )
    return member


def members_of(facility: Facility, include_left: bool = False) -> list[Member]:
    stmt = (
        sa.select(Member)
        .join(Person, Person.id == Member.person_id)
        .where(Member.facility_id == facility.id)
        .options(joinedload(Member.person))
        .order_by(Member.left_on.is_not(None), Person.name, Member.id)
    )
    if not include_left:
        stmt = stmt.where(Member.left_on.is_(None))
    return list(db.session.scalars(stmt))


# --- the day's roster: attendance and meals ----------------------------------------------------


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


#: Attendance, meals and closed days older than this are history: the monthly reports that
#: counted them have gone out as subsidy evidence.
EDIT_WINDOW_DAYS = 62


def _not_future(day: date, name: str = "day") -> None:
    if day > local_today():
        raise Invalid(errors={name: [_l("The date is in the future.")]})


def _still_editable(day: date, name: str = "day") -> None:
    if day < local_today() - timedelta(days=EDIT_WINDOW_DAYS):
        raise Conflict(
            errors={
                name: [
                    _l(
                        "Records older than %(days)s days cannot be changed.",
                        days=EDIT_WINDOW_DAYS,
                    )
                ]
            }
        )


def _open_on(facility: Facility, day: date) -> None:
    closed = db.session.scalar(
        sa.select(ClosedDay.id).where(ClosedDay.facility_id == facility.id, ClosedDay.day == day)
    )
    if closed is not None:
        raise Conflict(_l("The center is closed on this day."))
    if day.weekday() not in (center_of(facility).open_days or []):
        raise Conflict(
            _l("The center does not open on this day of the week; change its opening days first.")
        )


def check_in(
    facility: Facility, person: Person, day: date, by, at: datetime | None = None
) -> Attendance:
    """One tap: the person is here today. A person who is not a member that day is a
    walk-in. Twice the same day is refused (the database holds it too)."""
    _require_operator(by, facility.id)
    if not runs_daycare(facility):
        raise Conflict(_l("This facility does not run day care."))
    _not_future(day)
    _still_editable(day)
    _open_on(facility, day)
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
    _audit(
        "daycare.checked_in",
        attendance,
        by,
        facility.id,
        changes={"day": [None, day], "walk_in": [None, attendance.walk_in]},
    )
    return attendance


def check_out(attendance: Attendance, by, at: datetime | None = None) -> Attendance:
    _require_operator(by, attendance.facility_id)
    if attendance.check_out_at is not None:
        raise Conflict(_l("Already checked out."))
    at = (at or utcnow()).astimezone(UTC)
    attendance.check_out_at = max(at, attendance.check_in_at)
    db.session.flush()
    _audit(
        "daycare.checked_out",
        attendance,
        by,
        attendance.facility_id,
        changes={"check_out_at": [None, attendance.check_out_at]},
    )
    return attendance


def cancel_attendance(attendance: Attendance, by) -> None:
    """Undo a check-in tapped by mistake (the meals of that person that day go with it)."""
    _require_operator(by, attendance.facility_id)
    _still_editable(attendance.day)
    for meal in db.session.scalars(
        sa.select(Meal).where(
            Meal.facility_id == attendance.facility_id,
            Meal.day == attendance.day,
            Meal.person_id == attendance.person_id,
        )
    ):
        db.session.delete(meal)
    _audit(
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
    _require_operator(by, facility.id)
    if not runs_daycare(facility):
        raise Conflict(_l("This facility does not run day care."))
    _not_future(day)
    _still_editable(day)
    _open_on(facility, day)
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
    _audit(
        "daycare.meal_served",
        meal,
        by,
        facility.id,
        changes={"meal_type": [None, meal_type], "subsidised": [None, subsidised]},
    )
    return meal


def remove_meal(meal: Meal, by) -> None:
    _require_operator(by, meal.facility_id)
    _still_editable(meal.day)
    _audit(
        "daycare.meal_removed",
        meal,
        by,
        meal.facility_id,
        changes={"meal_type": [meal.meal_type, None], "day": [meal.day, None]},
    )
    db.session.delete(meal)
    db.session.flush()


# --- activities and incidents ---------------------------------------------------------------


def add_activity(facility: Facility, data: dict, participants: list[Person], by) -> Activity:
    _require_operator(by, facility.id)
    activity = Activity(
        facility_id=facility.id,
        title=data["title"],
        category=data["category"],
        starts_at=data["starts_at"].astimezone(UTC),
        ends_at=data["ends_at"].astimezone(UTC),
        note=data.get("note", ""),
        recorded_by_id=by.id,
        participants=participants,
    )
    db.session.add(activity)
    db.session.flush()
    _audit(
        "daycare.activity_added",
        activity,
        by,
        facility.id,
        changes={"title": [None, activity.title], "participants": [None, len(participants)]},
    )
    return activity


def activities_of(facility: Facility, start: date, end: date) -> list[Activity]:
    return list(
        db.session.scalars(
            sa.select(Activity)
            .where(
                Activity.facility_id == facility.id,
                Activity.starts_at >= day_start(start),
                Activity.starts_at < day_start(end),
            )
            .options(selectinload(Activity.participants))
            .order_by(Activity.starts_at.desc())
        )
    )


def report_incident(facility: Facility, data: dict, person: Person | None, by) -> Incident:
    _require_operator(by, facility.id)
    incident = Incident(
        facility_id=facility.id,
        person_id=person.id if person else None,
        occurred_at=data["occurred_at"].astimezone(UTC),
        risk=data["risk"],
        severity=data["severity"],
        description=data["description"],
        action_taken=data.get("action_taken", ""),
        follow_up=data.get("follow_up", ""),
        reported_by_id=by.id,
    )
    db.session.add(incident)
    db.session.flush()
    _audit(
        "daycare.incident_reported",
        incident,
        by,
        facility.id,
        changes={"risk": [None, incident.risk], "severity": [None, incident.severity]},
    )
    return incident


def close_incident(incident: Incident, resolution: str, by) -> Incident:
    _require_operator(by, incident.facility_id)
    if incident.closed_at is not None:
        raise Conflict(_l("This incident is already closed."))
    incident.closed_at = utcnow()
    incident.closed_by_id = by.id
    incident.resolution = resolution
    db.session.flush()
    _audit(
        "daycare.incident_closed",
        incident,
        by,
        incident.facility_id,
        changes={"closed_at": [None, incident.closed_at]},
    )
    return incident


def incidents_of(facility: Facility, open_only: bool = False, limit: int = 200) -> list[Incident]:
    stmt = (
        sa.select(Incident)
        .where(Incident.facility_id == facility.id)
        .options(joinedload(Incident.person), joinedload(Incident.reported_by))
        .order_by(Incident.closed_at.is_not(None), Incident.occurred_at.desc())
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(Incident.closed_at.is_(None))
    return list(db.session.scalars(stmt))
