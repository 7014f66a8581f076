"""Scheduled work of the ratings feature: results whose public notice is over are published,
and county staff hear of grades about to run out. Idempotent (a published result is not in
notice any more; outbox keys), takes the time it runs for and commits its own work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from eldercare.auth.models import User
from eldercare.core.db import local_date, local_today, utcnow
from eldercare.core.errors import Conflict
from eldercare.core.permissions import Role
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.notifications.operations import notify_many
from eldercare.ratings import notices
from eldercare.ratings.grades import in_force_on
from eldercare.ratings.models import Application, ApplicationStatus, Grade, Round
from eldercare.ratings.notices import ExpiringGrade
from eldercare.ratings.operations.decisions import publish
from eldercare.regions.models import PREFIX_LENGTH, Level, Region

COUNTY_DIGITS = PREFIX_LENGTH[Level.COUNTY]


def publish_due(now: datetime | None = None) -> int:
    """Publish every result whose notice is over and whose objections are all answered
    (others wait for their answers); returns how many were published."""
    today = local_date(now) if now else local_today()
    count = 0
    for application in db.session.scalars(
        sa.select(Application).where(
            Application.status == ApplicationStatus.IN_NOTICE.value,
            Application.notice_until < today,
        )
    ):
        try:
            with db.session.begin_nested():
                publish(application, None, today)
            count += 1
        except (Conflict, sa.exc.IntegrityError):  # waiting for an answer, or published already
            continue
    db.session.commit()
    return count


def _county_staff() -> dict[str, list[tuple[int, str | None]]]:
    """Active county staff, (id, locale), by the 6-digit prefix of their county."""
    rows = db.session.execute(
        sa.select(User.id, User.locale, Region.code)
        .join(Region, Region.id == User.region_id)
        .where(
            User.active.is_(True),
            User.role == Role.COUNTY_STAFF.value,
            Region.level == Level.COUNTY.value,
        )
    ).all()
    by_county: dict[str, list[tuple[int, str | None]]] = {}
    for user_id, locale, code in rows:
        by_county.setdefault(code[:COUNTY_DIGITS], []).append((user_id, locale))
    return by_county


def remind_expiring(now: datetime | None = None) -> int:
    """Tell the county staff of each facility whose grade in force runs out within
    RATING_EXPIRY_NOTICE_DAYS days (of an operating facility; a grade already superseded by
    a newer one is not in force) once per grade and staff member; returns the messages
    newly enqueued."""
    now = (now or utcnow()).astimezone(UTC)
    today = local_date(now)
    days = current_app.config.get("RATING_EXPIRY_NOTICE_DAYS", 90)
    rows = db.session.execute(
        sa.select(
            Grade.id,
            Grade.level,
            Grade.valid_until,
            Facility.id,
            Facility.name,
            Round.name,
            Region.code,
        )
        .join(Facility, Facility.id == Grade.facility_id)
        .join(Region, Region.id == Facility.region_id)
        .join(Round, Round.id == Grade.round_id)
        .where(
            in_force_on(today),
            Grade.valid_until <= today + timedelta(days=days),
            Facility.active.is_(True),
        )
        .order_by(Grade.valid_until, Grade.id)
    ).all()
    staff = _county_staff()
    pairs, locales = [], {}
    for grade_id, level, valid_until, facility_id, name, round_name, code in rows:
        item = ExpiringGrade(grade_id, level, valid_until, facility_id, name, round_name)
        for user_id, locale in staff.get(code[:COUNTY_DIGITS], []):
            pairs.append((user_id, item))
            locales[user_id] = locale
    sent = notify_many(notices.expiring(locales, pairs, today))
    db.session.commit()
    return sent
