"""Scheduled work of the subsidy feature: enrolments whose notice is over become active, what
the dead and the moved out left is repaired, and staff are reminded of yearly reviews, of
people newly reaching a program's age and of batches not approved as their due date nears.
Each job takes the time it runs for, commits its own work, and may be repeated: reminders
go through outbox keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.db import local_date, utcnow
from eldercare.core.masking import mask_name
from eldercare.core.permissions import Role
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.notifications.operations import Notice, notify_many
from eldercare.people.models import Person
from eldercare.regions.models import PREFIX_LENGTH, Level, Region
from eldercare.subsidies import notices, periods
from eldercare.subsidies.models import (
    PERSON_KINDS,
    Batch,
    BatchStatus,
    Enrolment,
    EnrolmentStatus,
    Program,
)
from eldercare.subsidies.operations import departures, enrolments

#: A yearly review is announced this many days ahead (and again once overdue).
REVIEW_NOTICE_DAYS = 30
#: The county hears of a batch not yet approved this many days before its due date.
BATCH_NOTICE_DAYS = 3
TOWNSHIP = PREFIX_LENGTH[Level.TOWNSHIP]
COUNTY = PREFIX_LENGTH[Level.COUNTY]


def _clock(now: datetime | None) -> tuple[datetime, date]:
    now = (now or utcnow()).astimezone(UTC)
    return now, local_date(now)


def activate_due(now: datetime | None = None) -> int:
    """Enrolments whose public notice ended before today become active."""
    count = enrolments.activate_due(now=_clock(now)[0])
    db.session.commit()  # the job commits its own work, whatever the operation does
    return count


def repair_departed(now: datetime | None = None) -> int:
    """The repair sweep: what the events of the dead and the moved out left (an open
    enrolment, a draft payment for a later period, a payment made for a later period not
    listed for recovery), done with the events' own operation; 0 on a healthy database."""
    count = departures.repair_departed()
    db.session.commit()
    return count


def staff_by_prefix() -> tuple[dict[str, list[tuple[int, str | None]]], dict[str, list]]:
    """Active township staff by township prefix, county staff by county prefix: (id, locale)."""
    rows = db.session.execute(
        sa.select(User.id, User.locale, User.role, Region.code, Region.level)
        .join(Region, Region.id == User.region_id)
        .where(
            User.active.is_(True),
            User.role.in_([Role.TOWNSHIP_STAFF.value, Role.COUNTY_STAFF.value]),
        )
        .order_by(User.id)
    ).all()
    townships: dict[str, list] = {}
    counties: dict[str, list] = {}
    for user_id, locale, role, code, level in rows:
        if role == Role.TOWNSHIP_STAFF.value and level == Level.TOWNSHIP.value:
            townships.setdefault(code[:TOWNSHIP], []).append((user_id, locale))
        elif role == Role.COUNTY_STAFF.value and level == Level.COUNTY.value:
            counties.setdefault(code[:COUNTY], []).append((user_id, locale))
    return townships, counties


def _review_reminders(today: date, townships, counties) -> list[Notice]:
    """To the township staff of the enrolment's township (its county's staff where the
    township has none): 30 days before the review date, and again once it has passed."""
    rows = db.session.execute(
        sa.select(
            Enrolment.id,
            Enrolment.next_review_on,
            Program.name.label("program"),
            Region.code,
            Region.name.label("area"),
            Person.name.label("person"),
            Facility.name.label("facility"),
        )
        .join(Program, Program.id == Enrolment.program_id)
        .join(Region, Region.id == Enrolment.region_id)
        .outerjoin(Person, Person.id == Enrolment.person_id)
        .outerjoin(Facility, Facility.id == Enrolment.facility_id)
        .where(
            Enrolment.status.in_([EnrolmentStatus.ACTIVE.value, EnrolmentStatus.SUSPENDED.value]),
            Enrolment.next_review_on <= today + timedelta(days=REVIEW_NOTICE_DAYS),
        )
        .order_by(Enrolment.next_review_on, Enrolment.id)
    ).all()
    pairs, locales = [], {}
    for row in rows:
        item = notices.Review(
            enrolment_id=row.id,
            name=mask_name(row.person) if row.person else row.facility or "",
            program=row.program,
            area=row.area,
            review_on=row.next_review_on,
            overdue=row.next_review_on < today,
        )
        staff = townships.get(row.code[:TOWNSHIP]) or counties.get(row.code[:COUNTY]) or []
        for user_id, locale in staff:
            pairs.append((user_id, item))
            locales[user_id] = locale
    return notices.reviews(locales, pairs, today)


def _lowest_age(program: Program) -> int | None:
    ages = [rule.min_age for t in program.tables for rule in t.rules if rule.min_age is not None]
    return min(ages) if ages else None


def _active_programs() -> list[Program]:
    return list(
        db.session.scalars(sa.select(Program).where(Program.active.is_(True)).order_by(Program.id))
    )


def _candidate_lists(today: date, counties) -> list[Notice]:
    """From the 1st of each month, once a month: the county staff hear how many people of
    the county reach a person program's age that month and are not enrolled (a run missed
    on the 1st catches up on the next day)."""
    month = periods.month_start(today)
    pairs, locales = [], {}
    for program in _active_programs():
        if program.kind not in PERSON_KINDS:
            continue
        age = _lowest_age(program)
        if age is None:
            continue
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(enrolments.candidates(program, month).subquery())
        )
        if not count:
            continue
        item = notices.Candidates(program.id, program.name, age, month, count)
        for user_id, locale in counties.get(program.region.code[:COUNTY], []):
            pairs.append((user_id, item))
            locales[user_id] = locale
    return notices.candidates(locales, pairs)


def _batch_reminders(today: date, counties) -> list[Notice]:
    """The county staff hear of a program's batch that is not approved (or not drawn up)
    when its due date is at most three days away."""
    pairs, locales = [], {}
    for program in _active_programs():
        current = periods.period_containing(program.frequency, today)
        for period in (periods.previous_period(program.frequency, current), current):
            due = periods.due_on(program.frequency, program.timing, program.pay_day, period)
            if not due - timedelta(days=BATCH_NOTICE_DAYS) <= today <= due:
                continue
            if program.table_for(period) is None:
                continue  # nothing to pay for that period
            batch = db.session.scalar(
                sa.select(Batch).where(Batch.program_id == program.id, Batch.period == period)
            )
            if batch is not None and batch.status != BatchStatus.DRAFT.value:
                continue
            item = notices.BatchDue(
                program.id,
                program.name,
                period,
                periods.label(program.frequency, period),
                batch.due_on if batch is not None else due,
                drawn_up=batch is not None,
            )
            for user_id, locale in counties.get(program.region.code[:COUNTY], []):
                pairs.append((user_id, item))
                locales[user_id] = locale
    return notices.batches_due(locales, pairs)


def send_reminders(now: datetime | None = None) -> int:
    """Yearly reviews, candidate lists and batches due; the messages newly enqueued."""
    _now, today = _clock(now)
    townships, counties = staff_by_prefix()
    sent = notify_many(_review_reminders(today, townships, counties))
    sent += notify_many(_candidate_lists(today, counties))
    sent += notify_many(_batch_reminders(today, counties))
    db.session.commit()
    return sent
