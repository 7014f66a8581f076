"""Builders for the existence-check tests: a person program with a check, an enrolment
activated on a known day, and a clock for the daily job."""

from __future__ import annotations

from datetime import UTC, date, datetime

from eldercare.extensions import db
from eldercare.subsidies.existence import operations as ex
from tests.subsidies.helpers import enrol, make_program, person_aged

#: The day the checks are counted from in these tests (older than every enrolment).
COUNTED_FROM = date(2020, 1, 1)


def checked_program(world, *, interval=12, grace=60, back_pay=None, **fields):
    program = make_program(world, **fields)
    policy = ex.save_policy(
        program,
        {
            "active": True,
            "interval_months": interval,
            "grace_days": grace,
            "back_pay_reason": back_pay,
        },
        world.user("county_staff"),
    )
    policy.counted_from = COUNTED_FROM
    db.session.flush()
    return program


def enrolled(world, program, *, applied_on=date(2026, 1, 5), region=None, **kw):
    person = person_aged(world, date(1940, 5, 5), region=region, **kw)
    return enrol(world, program, person, applied_on=applied_on)


def at(day: date, hour: int = 1) -> datetime:
    """A run of the job on ``day`` (01:00 UTC is the same day in China)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def check(enrolment, by, on: date, method="in_person", witness="王干部", today=None, note=""):
    return ex.record_check(
        enrolment,
        {"checked_on": on, "method": method, "witness": witness, "note": note},
        by,
        today=today or on,
    )


def enrolled_elsewhere(world, program, region, *, applied_on=date(2026, 1, 5)):
    """An enrolment of a person living in ``region`` (another township of the county),
    registered by a county colleague, approved by the county staff."""
    from datetime import timedelta

    from eldercare.subsidies import operations as ops
    from tests.subsidies.helpers import approver_other

    approver = world.user("county_staff")
    registrar = approver_other(world, approver)
    person = person_aged(world, date(1940, 5, 5), region=region)
    enrolment = ops.apply(
        program,
        {
            "person_id": person.id,
            "applied_on": applied_on,
            "account_kind": "bank",
            "bank_name": "农业银行",
            "account_holder": person.name,
            "account_number": "6222021234567890123",
        },
        registrar,
    )
    ops.review(enrolment, True, "", registrar)
    ops.decide(enrolment, True, "", approver, today=applied_on)
    ops.activate(enrolment, enrolment.notice_until + timedelta(days=1))
    db.session.flush()
    return enrolment
