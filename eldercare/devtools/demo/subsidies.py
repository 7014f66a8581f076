"""Demo subsidies for one county: three programs, the elderly people of 65 and over enrolled
through the whole lifecycle (so the audit trail is real), and the batches of the last two
months: the older one sent to the bank and reconciled with one failed payment (re-issued in
the newer one), the newer one approved."""

from __future__ import annotations

import csv
import io
import os
import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.beds.models import Stay
from eldercare.core.db import local_today, local_zone
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people import life_events
from eldercare.people.models import FamilyLink, Person
from eldercare.regions.models import Region
from eldercare.subsidies import bankfile, periods, reconciliation, rules
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Batch, Enrolment, Payment, Program

#: Shanghai's 老年综合津贴 (yuan a month, DOMAIN.md 3.4) in fen, with 80-89 split: people
#: on 低保 or 特困 get a higher rate, as in many counties.
AGE_ROWS = [
    {"label": "65-69周岁", "min_age": 65, "max_age": 69, "amount_fen": 7500},
    {"label": "70-79周岁", "min_age": 70, "max_age": 79, "amount_fen": 15000},
    {
        "label": "80-89周岁（低保、特困）",
        "min_age": 80,
        "max_age": 89,
        "economic_statuses": ["dibao", "tekun_concentrated", "tekun_dispersed"],
        "amount_fen": 22000,
    },
    {
        "label": "80-89周岁",
        "min_age": 80,
        "max_age": 89,
        "economic_statuses": ["none", "low_income"],
        "amount_fen": 18000,
    },
    {"label": "90-99周岁", "min_age": 90, "max_age": 99, "amount_fen": 35000},
    {"label": "100周岁及以上", "min_age": 100, "max_age": None, "amount_fen": 60000},
]
CARE_ROWS = [
    {"label": "中度失能", "min_age": 60, "ability_levels": ["moderate"], "amount_fen": 10000},
    {"label": "重度失能", "min_age": 60, "ability_levels": ["severe"], "amount_fen": 20000},
    {"label": "完全失能", "min_age": 60, "ability_levels": ["total"], "amount_fen": 30000},
]
#: Per occupied bed and month, by the facility's star grade in force.
OPERATING_ROWS = [
    {"label": f"{n}星级", "star_levels": [n], "amount_fen": amount}
    for n, amount in ((1, 5000), (2, 8000), (3, 10000), (4, 15000), (5, 20000))
]
PROGRAMS = [
    ("GL", "高龄津贴", "age_allowance", "person", AGE_ROWS, "参照上海市老年综合津贴标准"),
    ("HL", "失能老年人护理补贴", "care_subsidy", "person", CARE_ROWS, "按能力评估等级"),
    (
        "YY",
        "养老机构运营补贴",
        "operating_subsidy",
        "occupied_bed",
        OPERATING_ROWS,
        "按星级、每张在住床位每月",
    ),
]
BANKS = ["农业银行", "邮储银行", "农村信用社", "工商银行"]
FACILITY_KINDS = ("nursing_home", "township_home")


def _account(rng: random.Random, holder: str) -> dict:
    return {
        "account_kind": "bank",
        "bank_name": rng.choice(BANKS),
        "account_holder": holder,
        "account_number": f"62284{rng.randrange(10**13, 10**14)}",
    }


def _programs(county: Region, by: User) -> list[Program]:
    made = []
    for code, name, kind, basis, rows, note in PROGRAMS:
        program = ops.create_program(
            county,
            {
                "code": code,
                "name": name,
                "kind": kind,
                "basis": basis,
                "frequency": "monthly",
                "timing": "advance",
                "pay_day": 10,
                "bank_columns": [],
            },
            by,
        )
        ops.save_rule_table(program, date(2020, 1, 1), rows, note, by)
        made.append(program)
    return made


def _enrol(program, subject: dict, applied: date, registrar, approver, rng, **extra):
    enrolment = ops.apply(program, {**subject, "applied_on": applied, **extra}, registrar)
    ops.review(enrolment, True, "", registrar)
    ops.decide(enrolment, True, "", approver, today=applied)
    ops.activate(enrolment, enrolment.notice_until + timedelta(days=1))
    return enrolment


def _enrol_people(
    programs, county, township_staff, county_staff, county_staff2, first: date, rng
) -> list[Enrolment]:
    """Everyone of 65 and over alive in the county in the age allowance, the disabled also
    in the care subsidy. Township staff register their township's people, a county colleague
    the others; the other county colleague approves (never the one who registered)."""
    age_program, care_program, _operating = programs
    people = db.session.scalars(
        sa.select(Person)
        .where(
            Person.region_id.in_(Region.subtree_ids(county)),
            Person.death_date.is_(None),
            Person.birth_date <= rules.latest_birth_for_age(65, periods.age_reference(first)),
        )
        .order_by(Person.id)
    ).all()
    applied = first + timedelta(days=2)
    made = []
    for n, person in enumerate(people):
        registrar = (
            township_staff if township_staff.region.contains(person.region) else county_staff2
        )
        account = _account(rng, person.name)
        for program in (age_program, care_program):
            table = program.table_for(first)
            if rules.rule_for(table.rules, ops.facts_of(person, first)) is None:
                continue
            extra = dict(account)
            if n == 3 and program is age_program:
                # Registered late: the two months before are paid as back pay.
                extra |= {
                    "start_month": periods.add_months(first, -2),
                    "back_pay_reason": "late_registration",
                }
            made.append(
                _enrol(
                    program,
                    {"person_id": person.id},
                    applied,
                    registrar,
                    county_staff,
                    rng,
                    **extra,
                )
            )
    return made


def _enrol_facilities(program, county, county_staff, county_staff2, first, rng) -> int:
    facilities = db.session.scalars(
        sa.select(Facility)
        .where(
            Facility.region_id.in_(Region.subtree_ids(county)),
            Facility.kind.in_(FACILITY_KINDS),
            Facility.active.is_(True),
        )
        .order_by(Facility.id)
    ).all()
    for facility in facilities:
        _enrol(
            program,
            {"facility_id": facility.id},
            first + timedelta(days=2),
            county_staff2,
            county_staff,
            rng,
            **_account(rng, facility.name),
        )
    return len(facilities)


def _local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=local_zone()).astimezone(UTC)


def _send_and_reconcile(batch: Batch, by: User, fail_one: bool) -> Payment | None:
    """Send the batch to the bank two days before it is due and import the bank's answer:
    every payment paid, or the first one failed. Returns the failed one."""
    payments = db.session.scalars(
        sa.select(Payment).where(Payment.batch_id == batch.id).order_by(Payment.id)
    ).all()
    if not payments:
        return None  # nothing to send (a facility program before any grade is published)
    file = bankfile.export(batch, "csv", by)
    os.unlink(file.path)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["业务参考号", "金额（元）", "结果", "备注"])
    for n, payment in enumerate(payments):
        failed = fail_one and n == 0
        writer.writerow(
            [
                payment.id,
                bankfile.yuan_text(payment.amount_fen),
                "失败" if failed else "成功",
                "账户已销户" if failed else "",
            ]
        )
    result = reconciliation.import_return(batch, "银行回盘.csv", out.getvalue().encode(), by)
    if not result.ok:
        raise RuntimeError(f"demo bank return refused: {result.errors}")
    batch.exported_at = _local(batch.due_on - timedelta(days=2), 10)
    batch.reconciled_at = _local(batch.due_on + timedelta(days=1), 16)
    db.session.flush()
    return payments[0] if fail_one else None


def load_demo(
    county: Region,
    township_staff: User,
    county_staff: User,
    county_staff2: User,
    today: date | None = None,
    seed: int = 2026,
) -> str:
    """Demo subsidies in ``county`` (its people and facilities must be loaded), registered
    by ``township_staff`` (people of their township) and ``county_staff2`` (the others),
    approved by ``county_staff``; batches drawn up by ``county_staff`` and approved by
    ``county_staff2``. Adds and flushes; the caller commits."""
    rng = random.Random(seed)
    today = today or local_today()
    current = periods.month_start(today)
    older, newer = periods.add_months(current, -2), periods.add_months(current, -1)
    programs = _programs(county, county_staff)
    enrolments = _enrol_people(
        programs, county, township_staff, county_staff, county_staff2, older, rng
    )
    facilities = _enrol_facilities(programs[2], county, county_staff, county_staff2, older, rng)

    failed = None
    for program in programs:
        batch = ops.generate(program, older, county_staff).batch
        if not ops.approve(batch, county_staff2).approved:
            raise RuntimeError(f"demo batch {program.code} changed when approved")
        payment = _send_and_reconcile(batch, county_staff2, fail_one=program is programs[0])
        failed = failed or payment
    if failed is not None:
        reconciliation.resolve(failed, "reissue", county_staff, note="已核实新账户")
        ops.change_account(
            failed.enrolment,
            _account(rng, failed.enrolment.account_holder or failed.beneficiary_name),
            county_staff,
        )

    # Between the two months one of the allowance's people died and one could not be
    # reached: the newer month's report lists both as stopped, with their reasons.
    age_enrolments = [e for e in enrolments if e.program_id == programs[0].id]
    # Neither is the demo family's relative, whose page shows a living parent being paid.
    # Nor a resident admitted after the day of death (the stay would contradict it).
    linked = set(db.session.scalars(sa.select(FamilyLink.person_id)))
    linked |= set(db.session.scalars(sa.select(Stay.person_id)))
    unlinked = [e for e in age_enrolments[5:] if e.person_id not in linked]
    if len(unlinked) > 5:
        died = unlinked[0]
        # Learned from the funeral service's list: recorded through the registry's one
        # writer, which stops the enrolment from the next month (and ends anything else).
        life_events.record_death(
            died.person, older + timedelta(days=17), county_staff, note="民政殡葬数据比对"
        )
        ops.suspend(unlinked[2], "out_of_contact", newer, "电话无人接听", county_staff)

    paid = 0
    for program in programs:
        batch = ops.generate(program, newer, county_staff).batch
        if not ops.approve(batch, county_staff2).approved:
            raise RuntimeError(f"demo batch {program.code} changed when approved")
        paid += batch.payment_count
    db.session.flush()
    return (
        f"subsidies: {len(programs)} programs, {len(enrolments)} enrolments of people and"
        f" {facilities} of facilities, batches {periods.label('monthly', older)} (sent and"
        f" reconciled, one failed payment re-issued) and {periods.label('monthly', newer)}"
        f" (approved, {paid} payments)"
    )
