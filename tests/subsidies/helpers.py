"""Builders for subsidy tests: a program with Shanghai's age bands, enrolments taken through
the whole lifecycle, and a maker and an approver in the county."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Program
from tests.builders import build_person, build_user

#: Shanghai's 老年综合津贴 bands, yuan a month (DOMAIN.md 3.4), as fen.
SHANGHAI = [
    {"min_age": 65, "max_age": 69, "amount_fen": 7500},
    {"min_age": 70, "max_age": 79, "amount_fen": 15000},
    {"min_age": 80, "max_age": 89, "amount_fen": 18000},
    {"min_age": 90, "max_age": 99, "amount_fen": 35000},
    {"min_age": 100, "max_age": None, "amount_fen": 60000},
]


def county_staff(world, name: str):
    return build_user("county_staff", world.county_a, username=name)


def make_program(world, *, by=None, rows=None, effective_from=date(2020, 1, 1), **fields):
    by = by or world.user("county_staff")
    data = {
        "code": fields.pop("code", "GL"),
        "name": fields.pop("name", "高龄津贴"),
        "kind": fields.pop("kind", "age_allowance"),
        "basis": fields.pop("basis", "person"),
        "frequency": fields.pop("frequency", "monthly"),
        "timing": fields.pop("timing", "advance"),
        "pay_day": fields.pop("pay_day", 10),
        "notice_days": fields.pop("notice_days", 7),
        "review_months": 12,
        "bank_columns": [],
        "active": True,
        **fields,
    }
    program = ops.create_program(world.county_a, data, by)
    ops.save_rule_table(program, effective_from, rows or SHANGHAI, "", by)
    return program


def person_aged(world, born: date, region=None, **kw):
    return build_person(region or world.village_a, born=born, **kw)


def enrol(
    world,
    program: Program,
    person=None,
    *,
    facility=None,
    applied_on: date,
    start_month: date | None = None,
    back_pay_reason: str | None = None,
    account: str | None = "6222021234567890123",
    approver=None,
):
    """Apply, review, approve and activate (the notice is over the day after it ends)."""
    township = world.user("township_staff")
    approver = approver or world.user("county_staff")
    data = {
        "applied_on": applied_on,
        "start_month": start_month,
        "back_pay_reason": back_pay_reason,
        "account_kind": "bank",
        "bank_name": "农业银行",
        "account_holder": person.name if person else facility.name,
        "account_number": account,
    }
    if person is not None:
        data["person_id"] = person.id
    else:
        data["facility_id"] = facility.id
    by = township if person is not None else approver_other(world, approver)
    enrolment = ops.apply(program, data, by)
    ops.review(enrolment, True, "", by)
    ops.decide(enrolment, True, "", approver, today=applied_on)
    ops.activate(enrolment, enrolment.notice_until + timedelta(days=1))
    db.session.flush()
    return enrolment


def approver_other(world, approver):
    """A county colleague of ``approver`` (facility applications are registered by the county)."""
    from eldercare.auth.models import User

    name = f"reg{approver.id}"
    existing = db.session.scalar(db.select(User).where(User.username == name))
    return existing or county_staff(world, name)


_recovery_programs = itertools.count(1)


def listed_for_recovery(world, n: int) -> None:
    """``n`` more people of county A who died after next month was paid: each payment listed
    for recovery (for the recovery list's query-count check)."""
    from eldercare.core.db import local_today
    from eldercare.people import life_events
    from eldercare.subsidies import periods

    today = local_today()
    next_month = periods.next_period("monthly", periods.period_containing("monthly", today))
    code = f"ZH{next(_recovery_programs)}"
    program = make_program(world, code=code, name=f"追回测试补贴{code}", kind="service_subsidy")
    people = [person_aged(world, date(1944, 2, 2) - timedelta(days=i)) for i in range(n)]
    for person in people:
        enrol(world, program, person, applied_on=today - timedelta(days=60))
    maker = world.user("county_staff")
    batch = ops.generate(program, next_month, maker).batch
    checker = approver_other(world, maker)
    ops.approve(batch, checker)
    for person in people:
        life_events.record_death(person, today, world.user("township_staff"))
    db.session.flush()
