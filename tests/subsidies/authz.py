"""Authorization matrix entries for the subsidy pages: programs are county-wide (township staff
of the county read them), enrolments belong to a township, batches to county staff."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core.db import utcnow
from eldercare.extensions import db
from eldercare.subsidies.models import (
    Batch,
    Enrolment,
    Payment,
    Program,
    Recovery,
    Rule,
    RuleTable,
)
from eldercare.subsidies.operations import mask_account
from tests.authz.matrix import STAFF, Route
from tests.builders import build_person, build_user
from tests.subsidies.helpers import SHANGHAI

KEEPERS = frozenset({"admin", "county_staff"})
ACCOUNT = "6222021234567890123"
BATCH_PERIOD = date(2026, 1, 1)


def program_in(county) -> Program:
    """The county's advanced-age allowance with Shanghai's bands (made once per world)."""
    found = db.session.scalar(
        sa.select(Program).where(Program.region_id == county.id, Program.code == "GL")
    )
    if found is not None:
        return found
    program = Program(
        region=county,
        code="GL",
        name="高龄津贴",
        kind="age_allowance",
        basis="person",
        frequency="monthly",
        timing="advance",
        bank_columns=[],
    )
    table = RuleTable(program=program, version=1, effective_from=date(2020, 1, 1))
    table.rules = [
        Rule(
            position=n,
            min_age=row["min_age"],
            max_age=row["max_age"],
            economic_statuses=[],
            ability_levels=[],
            star_levels=[],
            amount_fen=row["amount_fen"],
        )
        for n, row in enumerate(SHANGHAI)
    ]
    db.session.add(program)
    db.session.flush()
    return program


def enrolment_in(village, county, status: str) -> Enrolment:
    """An enrolment in ``status`` of a person living in ``village`` (one per village and
    status, found again on the next call)."""
    program = program_in(county)
    tag = f"authz-{status}"
    found = db.session.scalar(
        sa.select(Enrolment).where(
            Enrolment.program_id == program.id,
            Enrolment.region_id == village.id,
            Enrolment.note == tag,
        )
    )
    if found is not None:
        return found
    person = build_person(village, born=date(1944, 2, 2))
    enrolment = Enrolment(
        program=program,
        region_id=village.id,
        person_id=person.id,
        status=status,
        applied_on=date(2026, 3, 2),
        start_month=date(2026, 4, 1),
        account_kind="bank",
        bank_name="农业银行",
        account_holder=person.name,
        account_number=ACCOUNT,
        account_masked=mask_account(ACCOUNT),
        note=tag,
    )
    if status in ("in_notice", "active", "suspended"):
        enrolment.notice_until = date(2026, 3, 20)
    if status in ("active", "suspended"):
        enrolment.activated_on = date(2026, 3, 21)
        enrolment.next_review_on = date(2027, 3, 21)
    if status == "suspended":
        enrolment.suspended_from = date(2026, 6, 1)
        enrolment.suspend_reason = "cannot_locate"
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def program(world, user):
    """Programs are county-wide: the nearest one out of scope is the other county's."""
    return program_in(world.county_a).id, program_in(world.county_b).id


def enrolment(status: str):
    def target(world, user):
        inside = enrolment_in(world.village_a, world.county_a, status)
        if user.role == "township_staff":  # the next township of the same county
            outside = enrolment_in(world.village_a2, world.county_a, status)
        else:
            outside = enrolment_in(world.village_b, world.county_b, status)
        return inside.id, outside.id

    return target


def batch_in(county) -> Batch:
    program = program_in(county)
    found = db.session.scalar(
        sa.select(Batch).where(Batch.program_id == program.id, Batch.period == BATCH_PERIOD)
    )
    if found is not None:
        return found
    maker = build_user("county_staff", county)  # a colleague drew it up
    batch = Batch(
        program=program,
        region_id=county.id,
        period=BATCH_PERIOD,
        due_on=date(2026, 1, 10),
        made_by_id=maker.id,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def batch(world, user):
    return batch_in(world.county_a).id, batch_in(world.county_b).id


def held_payment(world, user):
    def of(village, county):
        found = batch_in(county)
        payment = db.session.scalar(sa.select(Payment).where(Payment.batch_id == found.id))
        if payment is None:
            enrolled = enrolment_in(village, county, "active")
            payment = Payment(
                batch_id=found.id,
                enrolment_id=enrolled.id,
                program_id=enrolled.program_id,
                region_id=enrolled.region_id,
                person_id=enrolled.person_id,
                period=found.period,
                status="held",
                exception="duplicate",
                amount_fen=15000,
                created_at=utcnow(),
            )
            db.session.add(payment)
            db.session.flush()
        return {"id": found.id, "payment_id": payment.id}

    return of(world.village_a, world.county_a), of(world.village_b, world.county_b)


def recovery_in(village, county) -> Recovery:
    """A payment made after the beneficiary's death, listed for recovery (one per county)."""
    enrolled = enrolment_in(village, county, "active")
    found = db.session.scalar(sa.select(Recovery).where(Recovery.person_id == enrolled.person_id))
    if found is not None:
        return found
    common = {
        "enrolment_id": enrolled.id,
        "program_id": enrolled.program_id,
        "region_id": enrolled.region_id,
        "person_id": enrolled.person_id,
        "period": date(2026, 4, 1),
        "created_at": utcnow(),
    }
    paid = Payment(**common, status="paid", amount_fen=18000)
    db.session.add(paid)
    db.session.flush()
    reversal = Payment(
        **common, kind="reversal", status="recorded", amount_fen=-18000, reverses_id=paid.id
    )
    recovery = Recovery(
        payment=paid,
        reversal=reversal,
        region_id=enrolled.region_id,
        person_id=enrolled.person_id,
        reason="death",
        left_on=date(2026, 3, 20),
    )
    db.session.add_all([reversal, recovery])
    db.session.flush()
    return recovery


def recovery(world, user):
    return (
        recovery_in(world.village_a, world.county_a).id,
        recovery_in(world.village_b, world.county_b).id,
    )


def spare_table(world, user):
    """A version nobody was paid with, which may be deleted."""

    def of(county):
        owner = program_in(county)
        table = db.session.scalar(
            sa.select(RuleTable).where(
                RuleTable.program_id == owner.id, RuleTable.effective_from == date(2031, 1, 1)
            )
        )
        if table is None:
            table = RuleTable(program=owner, version=2, effective_from=date(2031, 1, 1))
            table.rules = [Rule(position=0, min_age=80, amount_fen=20000)]
            db.session.add(table)
            db.session.flush()
        return {"id": owner.id, "table_id": table.id}

    return of(world.county_a), of(world.county_b)


def _new_program(world, user):
    return {
        "county_id": world.county_a.id,
        "code": "HL",
        "name": "护理补贴",
        "kind": "care_subsidy",
    }


def _settings(world, user):
    return {"name": "高龄津贴（调整）", "kind": "age_allowance", "basis": "person", "active": "1"}


def _application(world, user):
    return {
        "person_id": world.person_a.id,
        "applied_on": "2026-11-02",
        "account_holder": world.person_a.name,
        "account_number": "6222 0212 3456 7890 123",
    }


ROUTES = [
    Route("subsidies.programs", allowed=STAFF),
    Route(
        "subsidies.create_program",
        "POST",
        allowed=KEEPERS,
        data=lambda w, u: {**_new_program(w, u), "basis": "person"},
        ok=(302,),
    ),
    Route("subsidies.program", allowed=STAFF, target=program),
    Route(
        "subsidies.update_program",
        "POST",
        allowed=KEEPERS,
        target=program,
        data=_settings,
        ok=(302,),
    ),
    Route(
        "subsidies.save_rules",
        "POST",
        allowed=KEEPERS,
        target=program,
        data=lambda w, u: {
            "effective_from": "2030-01",
            "rules-0-min_age": "80",
            "rules-0-amount": "180",
        },
        ok=(302,),
    ),
    Route("subsidies.delete_rules", "POST", allowed=KEEPERS, target=spare_table, ok=(302,)),
    Route(
        "subsidies.set_exclusions",
        "POST",
        allowed=KEEPERS,
        target=program,
        data=lambda w, u: {},
        ok=(302,),
    ),
    Route("subsidies.notice", allowed=STAFF, target=program),
    Route("subsidies.candidates", allowed=STAFF, target=program),
    Route("subsidies.new_enrolment", allowed=STAFF, target=program),
    Route(
        "subsidies.apply",
        "POST",
        allowed=STAFF,
        target=program,
        data=_application,
        ok=(302,),
    ),
    Route("subsidies.batches", allowed=KEEPERS, target=program),
    Route(
        "subsidies.generate",
        "POST",
        allowed=KEEPERS,
        target=program,
        data=lambda w, u: {"period": "2026-11"},
        ok=(302,),
    ),
    Route("subsidies.enrolments", allowed=STAFF),
    Route("subsidies.enrolment", allowed=STAFF, target=enrolment("active")),
    Route(
        "subsidies.review",
        "POST",
        allowed=STAFF,
        target=enrolment("applied"),
        data=lambda w, u: {"decision": "approve"},
        ok=(302,),
    ),
    Route(
        "subsidies.decide",
        "POST",
        allowed=KEEPERS,
        target=enrolment("reviewed"),
        data=lambda w, u: {"decision": "approve"},
        ok=(302,),
    ),
    Route(
        "subsidies.suspend",
        "POST",
        allowed=KEEPERS,
        target=enrolment("active"),
        data=lambda w, u: {"reason": "cannot_locate", "from_month": "2026-11"},
        ok=(302,),
    ),
    Route(
        "subsidies.resume",
        "POST",
        allowed=KEEPERS,
        target=enrolment("suspended"),
        data=lambda w, u: {"back_pay_reason": "could_not_locate"},
        ok=(302,),
    ),
    Route(
        "subsidies.stop",
        "POST",
        allowed=KEEPERS,
        target=enrolment("active"),
        data=lambda w, u: {"reason": "death", "stop_month": "2026-11"},
        ok=(302,),
    ),
    Route(
        "subsidies.yearly_review",
        "POST",
        allowed=STAFF,
        target=enrolment("active"),
        data=lambda w, u: {"note": "入户核实"},
        ok=(302,),
    ),
    Route(
        "subsidies.change_account",
        "POST",
        allowed=STAFF,
        target=enrolment("active"),
        data=lambda w, u: {"account_holder": "张秀英", "account_number": "6228480000000000001"},
        ok=(302,),
    ),
    Route("subsidies.reveal_account", "POST", allowed=STAFF, target=enrolment("active")),
    Route("subsidies.batch", allowed=KEEPERS, target=batch),
    Route("subsidies.batch_roster", allowed=KEEPERS, target=batch),
    Route("subsidies.approve", "POST", allowed=KEEPERS, target=batch, ok=(302,)),
    Route(
        "subsidies.override",
        "POST",
        allowed=KEEPERS,
        target=held_payment,
        data=lambda w, u: {"reason": "县B已停发, 见函件"},
        ok=(302,),
    ),
    Route(
        "subsidies.exclude_payment",
        "POST",
        allowed=KEEPERS,
        target=held_payment,
        data=lambda w, u: {"reason": "账户待核实"},
        ok=(302,),
    ),
    Route(
        "subsidies.void_batch",
        "POST",
        allowed=KEEPERS,
        target=batch,
        data=lambda w, u: {"reason": "期间填错"},
        ok=(302,),
    ),
    Route("subsidies.recoveries", allowed=KEEPERS),
    Route(
        "subsidies.mark_recovered",
        "POST",
        allowed=KEEPERS,
        target=recovery,
        data=lambda w, u: {"note": "家属已退回"},
        ok=(302,),
    ),
]
