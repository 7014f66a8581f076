"""The daily existence-check job (scheduler job "subsidies-existence"): township staff hear of
checks coming due (30 days ahead) and overdue, and an enrolment whose grace period is over
is suspended. People who died or moved away are left out: their enrolments stop through the
life event. It may be repeated: notices go through outbox keys, only an active enrolment is
suspended."""

from __future__ import annotations

from datetime import UTC, date, datetime

from eldercare.core.db import local_date, utcnow
from eldercare.extensions import db
from eldercare.notifications.operations import notify_many
from eldercare.regions.models import PREFIX_LENGTH, Level
from eldercare.subsidies.existence import notices, operations, queries
from eldercare.subsidies.existence.models import NOTICE_DAYS
from eldercare.subsidies.models import Enrolment, EnrolmentStatus
from eldercare.subsidies.tasks import staff_by_prefix

TOWNSHIP = PREFIX_LENGTH[Level.TOWNSHIP]
COUNTY = PREFIX_LENGTH[Level.COUNTY]


def _suspend(item: queries.DueCheck, today: date) -> bool:
    enrolment = db.session.get(
        Enrolment, item.enrolment_id, with_for_update=True, populate_existing=True
    )
    if enrolment is None or enrolment.status != EnrolmentStatus.ACTIVE.value:
        return False  # changed since it was read
    return operations.suspend_unchecked(enrolment, item.due_on, today) is not None


def run_checks(now: datetime | None = None) -> int:
    """Notices of checks due and overdue, suspensions past the grace period; the notices
    newly enqueued plus the enrolments suspended."""
    now = (now or utcnow()).astimezone(UTC)
    today = local_date(now)
    townships, counties = staff_by_prefix()
    pairs, locales, suspended = [], {}, 0
    for item in queries.checks_due(today, horizon=NOTICE_DAYS):
        stages = [notices.OVERDUE if item.overdue else notices.DUE]
        if item.active and today > item.grace_ends_on and _suspend(item, today):
            suspended += 1
            stages.append(notices.SUSPENDED)
        staff = townships.get(item.region_code[:TOWNSHIP]) or counties.get(
            item.region_code[:COUNTY], []
        )
        for user_id, locale in staff:
            locales[user_id] = locale
            pairs.extend((user_id, stage, item) for stage in stages)
    db.session.flush()
    sent = notify_many(notices.notices(locales, pairs, today))
    db.session.commit()
    return sent + suspended
