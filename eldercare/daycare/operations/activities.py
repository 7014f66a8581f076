"""A center's activities and the incidents reported there."""

from __future__ import annotations

from datetime import UTC, date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from eldercare.core.db import day_start, utcnow
from eldercare.core.errors import Conflict
from eldercare.daycare.models import Activity, Incident
from eldercare.daycare.operations.common import audit_center, require_operator
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person


def add_activity(facility: Facility, data: dict, participants: list[Person], by) -> Activity:
    require_operator(by, facility.id)
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
    audit_center(
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
    require_operator(by, facility.id)
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
    audit_center(
        "daycare.incident_reported",
        incident,
        by,
        facility.id,
        changes={"risk": [None, incident.risk], "severity": [None, incident.severity]},
    )
    return incident


def close_incident(incident: Incident, resolution: str, by) -> Incident:
    require_operator(by, incident.facility_id)
    if incident.closed_at is not None:
        raise Conflict(_l("This incident is already closed."))
    incident.closed_at = utcnow()
    incident.closed_by_id = by.id
    incident.resolution = resolution
    db.session.flush()
    audit_center(
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
