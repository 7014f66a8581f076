"""What a life event stops in the subsidies (issue 19): a death or a move out of the county
recorded through people.life_events stops every enrolment from the next period, drops the
person's draft payments and lists the payments already made for later periods for recovery
(a reversal entry, the payment untouched); a lost status or a new ability level stops what
no rule covers any more; a second time changes nothing; a data feed is told to ask an
officer when payments were already sent; the repair sweep finishes what an event left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.people import life_events, signals
from eldercare.people.models import AbilityAssessment, LifeEvent, Person
from eldercare.people.operations import add_assessment, update_person
from eldercare.subsidies import operations as ops
from eldercare.subsidies import periods, tasks
from eldercare.subsidies.models import Batch, Enrolment, Payment, Recovery
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged


def this_period() -> date:
    """The month today is in (the programs here pay monthly)."""
    return periods.period_containing("monthly", local_today())


def next_period() -> date:
    return periods.next_period("monthly", this_period())


@dataclass
class Paid:
    person: Person
    drafted: Enrolment  # next month drawn up, still a draft
    approved: Enrolment  # next month approved
    draft: Batch
    approved_payment: Payment


@pytest.fixture
def paid(world) -> Paid:
    """An 82-year-old in two programs: next month in a draft batch of one, approved in the
    other."""
    today = local_today()
    next_month = next_period()
    applied = today - timedelta(days=100)
    person = person_aged(world, today.replace(year=today.year - 82, day=1) - timedelta(days=40))
    allowance = make_program(world, code="GL", name="高龄津贴")
    service = make_program(world, code="FW", name="养老服务补贴", kind="service_subsidy")
    drafted = enrol(world, allowance, person, applied_on=applied)
    approved = enrol(world, service, person, applied_on=applied)
    maker = world.user("county_staff")
    draft = ops.generate(allowance, next_month, maker).batch
    batch = ops.generate(service, next_month, maker).batch
    assert ops.approve(batch, county_staff(world, "checker")).approved
    payment = db.session.scalar(
        sa.select(Payment).where(Payment.enrolment_id == approved.id, Payment.period == next_month)
    )
    assert payment.status == "approved"
    return Paid(person, drafted, approved, draft, payment)


def payments_of(enrolment: Enrolment) -> list[tuple]:
    db.session.expire_all()
    return [
        (p.period, p.kind, p.status, p.amount_fen, p.reverses_id)
        for p in db.session.scalars(
            sa.select(Payment)
            .where(Payment.enrolment_id == enrolment.id)
            .order_by(Payment.period, Payment.id)
        )
    ]


def state(person: Person) -> dict:
    """Everything the subsidies hold about the person, as plain values."""
    db.session.expire_all()
    return {
        "enrolments": [
            (e.id, e.status, e.stop_reason, e.stop_month)
            for e in db.session.scalars(
                sa.select(Enrolment).where(Enrolment.person_id == person.id).order_by(Enrolment.id)
            )
        ],
        "payments": [
            (p.id, p.batch_id, p.period, p.kind, p.status, p.amount_fen, p.reverses_id)
            for p in db.session.scalars(
                sa.select(Payment).where(Payment.person_id == person.id).order_by(Payment.id)
            )
        ],
        "recoveries": [
            (r.payment_id, r.reversal_id, r.status, r.reason, r.left_on)
            for r in db.session.scalars(
                sa.select(Recovery).where(Recovery.person_id == person.id).order_by(Recovery.id)
            )
        ],
    }


def actions(action: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditLog).where(AuditLog.action == action)
    )


def test_a_death_stops_drops_the_draft_and_lists_the_approved_payment(world, paid):
    today = local_today()
    this_month = this_period()
    next_month = next_period()
    staff = world.user("township_staff")
    draft_before = ops.totals(paid.draft)
    recorded = life_events.record_death(paid.person, today, staff)
    db.session.expire_all()
    for enrolment in (paid.drafted, paid.approved):
        fresh = db.session.get(Enrolment, enrolment.id)
        assert (fresh.status, fresh.stop_reason, fresh.stop_month) == (
            "stopped",
            "death",
            next_month,
        )
    # The draft no longer pays next month; the back pay owed before the death stays.
    drafted = payments_of(paid.drafted)
    assert [p for p in drafted if p[0] >= next_month] == []
    assert all(p[0] <= this_month and p[2] == "pending" for p in drafted)
    count, fen = draft_before["pending"]
    assert ops.totals(paid.draft)["pending"] == (count - 1, fen - 18000)
    assert actions("subsidies.payment_dropped") == 1
    # The approved payment is untouched; a reversal entry stands against it, to recover.
    payment = db.session.get(Payment, paid.approved_payment.id)
    assert (payment.status, payment.amount_fen, payment.kind) == ("approved", 18000, "regular")
    (reversal,) = [p for p in payments_of(paid.approved) if p[1] == "reversal"]
    assert reversal == (next_month, "reversal", "recorded", -18000, payment.id)
    (recovery,) = db.session.scalars(sa.select(Recovery)).all()
    assert (recovery.payment_id, recovery.status, recovery.reason, recovery.left_on) == (
        payment.id,
        "to_recover",
        "death",
        today,
    )
    assert recovery.amount_fen == 18000
    assert actions("subsidies.recovery_listed") == 1
    # What the recorder reads and what a relative is told.
    texts = [str(e.text) for e in recorded.effects if e.feature == "subsidies"]
    label = periods.label("monthly", next_month)
    assert any("高龄津贴" in t and label in t and "死亡" in t for t in texts), texts
    assert any("养老服务补贴" in t and "180.00" in t for t in texts), texts
    family = [str(e.family) for e in recorded.effects if e.family is not None]
    assert any("高龄津贴" in t and label in t for t in family), family
    assert any("180.00" in t for t in family), family
    event = db.session.scalar(sa.select(LifeEvent).where(LifeEvent.person_id == paid.person.id))
    assert [text for feature, text in event.effects if feature == "subsidies"] == texts


def test_the_same_death_again_changes_nothing(world, paid):
    today = local_today()
    staff = world.user("township_staff")
    life_events.record_death(paid.person, today, staff)
    after = state(paid.person)
    assert life_events.record_death(paid.person, today, staff).already_known
    event = db.session.scalar(sa.select(LifeEvent).where(LifeEvent.person_id == paid.person.id))
    # The receiver itself, sent the same event again (a feed or a sweep may): nothing.
    answers = signals.life_event.send(event, by=staff, facility_id=None)
    assert [
        a for receiver, a in answers if receiver.__module__ == "eldercare.subsidies.events"
    ] == [None]
    assert ops.follow_departure(db.session.get(Person, paid.person.id), None).count == 0
    assert tasks.repair_departed() == 0
    assert state(paid.person) == after


def test_the_month_of_death_is_paid_in_full(world, paid):
    """Died on the 1st: that month is still paid in full, the next one is the first stopped
    and the only one listed."""
    this_month = this_period()
    next_month = next_period()
    life_events.record_death(paid.person, this_month, world.user("township_staff"))
    assert db.session.get(Enrolment, paid.approved.id).stop_month == next_month
    listed = db.session.scalars(sa.select(Recovery)).all()
    assert [r.payment.period for r in listed] == [next_month]


def test_a_move_out_stops_drops_and_lists_for_recovery(world, paid):
    today = local_today()
    next_month = next_period()
    staff = world.user("county_staff")
    recorded = life_events.record_move_out(paid.person, today, staff, destination="西安市")
    db.session.expire_all()
    for enrolment in (paid.drafted, paid.approved):
        fresh = db.session.get(Enrolment, enrolment.id)
        assert (fresh.status, fresh.stop_reason, fresh.stop_month) == (
            "stopped",
            "moved_out",
            next_month,
        )
    assert [p for p in payments_of(paid.drafted) if p[0] >= next_month] == []
    (recovery,) = db.session.scalars(sa.select(Recovery)).all()
    assert (recovery.reason, recovery.left_on, recovery.status) == (
        "moved_out",
        today,
        "to_recover",
    )
    assert db.session.get(Payment, paid.approved_payment.id).status == "approved"
    assert any("户籍迁出" in str(e.text) for e in recorded.effects)
    # A death after the move learns nothing new here.
    before = state(paid.person)
    again = life_events.record_death(paid.person, today, staff)
    assert [e for e in again.effects if e.feature == "subsidies"] == []
    assert state(paid.person) == before


def test_an_application_still_being_decided_is_refused(world):
    today = local_today()
    program = make_program(world)
    person = person_aged(world, date(1944, 2, 2))
    application = ops.apply(
        program,
        {"person_id": person.id, "applied_on": today, "account_number": "6222020000000001"},
        world.user("township_staff"),
    )
    recorded = life_events.record_death(person, today, world.user("township_staff"))
    assert db.session.get(Enrolment, application.id).status == "rejected"
    assert any("高龄津贴" in str(e.text) for e in recorded.effects)


def _dibao_program(world):
    return make_program(
        world,
        code="FW",
        name="养老服务补贴",
        kind="service_subsidy",
        rows=[{"economic_statuses": ["dibao", "tekun_dispersed"], "amount_fen": 30000}],
    )


def test_losing_dibao_stops_only_the_programs_that_asked_for_it(world):
    next_month = next_period()
    applied = local_today() - timedelta(days=100)
    person = person_aged(world, date(1944, 2, 2), economic_status="dibao")
    service = enrol(world, _dibao_program(world), person, applied_on=applied)
    allowance = enrol(world, make_program(world), person, applied_on=applied)
    maker = world.user("county_staff")
    draft = ops.generate(service.program, next_month, maker).batch
    base = {"name": person.name, "region_id": person.region_id}
    update_person(person, {**base, "economic_status": "low_income"}, maker)
    db.session.expire_all()
    stopped = db.session.get(Enrolment, service.id)
    assert (stopped.status, stopped.stop_reason, stopped.stop_month) == (
        "stopped",
        "lost_status",
        next_month,
    )
    assert db.session.get(Enrolment, allowance.id).status == "active"
    assert [
        p.period
        for p in db.session.scalars(sa.select(Payment).where(Payment.batch_id == draft.id))
        if p.period >= next_month
    ] == []
    event = db.session.scalar(sa.select(LifeEvent).where(LifeEvent.person_id == person.id))
    assert any("养老服务补贴" in text for _f, text in event.effects)
    # Nothing is listed for recovery after a lost status.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Recovery)) == 0


def test_a_new_ability_level_changes_the_amount_or_stops(world):
    today = local_today()
    next_month = next_period()
    applied = today - timedelta(days=100)
    care = make_program(
        world,
        code="HL",
        name="护理补贴",
        kind="care_subsidy",
        rows=[
            {"ability_levels": ["moderate"], "amount_fen": 10000},
            {"ability_levels": ["severe", "total"], "amount_fen": 20000},
        ],
    )
    person = person_aged(world, date(1944, 2, 2))
    db.session.add(
        AbilityAssessment(
            person_id=person.id, assessed_on=applied - timedelta(days=30), level="severe"
        )
    )
    db.session.flush()
    db.session.refresh(person)
    enrolment = enrol(world, care, person, applied_on=applied)
    staff = world.user("county_staff")
    add_assessment(person, {"assessed_on": today, "level": "moderate"}, staff)
    assert db.session.get(Enrolment, enrolment.id).status == "active"
    event = db.session.scalars(
        sa.select(LifeEvent).where(LifeEvent.person_id == person.id).order_by(LifeEvent.id)
    ).all()[-1]
    assert any("100.00" in text for _f, text in event.effects), event.effects
    batch = ops.generate(care, next_month, staff).batch
    amounts = {
        p.period: p.amount_fen
        for p in db.session.scalars(sa.select(Payment).where(Payment.batch_id == batch.id))
    }
    assert amounts[next_month] == 10000
    add_assessment(person, {"assessed_on": today, "level": "intact"}, staff)
    db.session.expire_all()
    stopped = db.session.get(Enrolment, enrolment.id)
    assert (stopped.status, stopped.stop_reason, stopped.stop_month) == (
        "stopped",
        "ability_changed",
        next_month,
    )
    assert next_month not in {
        p.period for p in db.session.scalars(sa.select(Payment).where(Payment.batch_id == batch.id))
    }


def test_a_feed_is_told_to_ask_when_payments_were_sent_after_the_date(world, paid):
    today = local_today()
    next_month = next_period()

    def doubts(kind, on):
        return [
            str(reason)
            for _receiver, reason in signals.event_doubts.send(paid.person, kind=kind, on=on)
            if reason
        ]

    assert doubts("death", today) == []  # approved, not yet sent: listed, not doubted
    db.session.execute(
        sa.update(Payment).where(Payment.id == paid.approved_payment.id).values(status="exported")
    )
    (reason,) = doubts("death", today)
    assert "1" in reason and today.isoformat() in reason
    assert doubts("moved_out", today) == [reason]
    assert doubts("death", next_month) == []  # nothing sent for a later period
    assert doubts("status_lost", today) == []


def test_the_repair_sweep_finishes_what_an_event_left(world, paid):
    today = local_today()
    next_month = next_period()
    assert tasks.repair_departed() == 0
    # A death written past the one writer (an old import): nothing followed it.
    paid.person.death_date = today
    db.session.flush()
    # Two enrolments stopped, one draft payment dropped, one payment listed.
    assert tasks.repair_departed() == 4
    db.session.expire_all()
    assert [e[1:] for e in state(paid.person)["enrolments"]] == [
        ("stopped", "death", next_month),
        ("stopped", "death", next_month),
    ]
    assert [p for p in payments_of(paid.drafted) if p[0] >= next_month] == []
    assert [r[2:] for r in state(paid.person)["recoveries"]] == [("to_recover", "death", today)]
    notes = set(
        db.session.scalars(
            sa.select(AuditLog.note).where(
                AuditLog.action.in_(
                    [
                        "subsidies.enrolment_stopped",
                        "subsidies.payment_dropped",
                        "subsidies.recovery_listed",
                    ]
                )
            )
        )
    )
    assert notes == {"repair"}
    assert tasks.repair_departed() == 0


def test_a_listed_payment_is_not_reversed_a_second_time(world, paid):
    today = local_today()
    from eldercare.core.errors import Conflict

    life_events.record_death(paid.person, today, world.user("township_staff"))
    payment = db.session.get(Payment, paid.approved_payment.id)
    payment.status = "paid"
    db.session.flush()
    with pytest.raises(Conflict):
        ops.reverse(payment, "核对", world.user("county_staff"))


# --- the recovery list ---------------------------------------------------------------------


def _listed(world, paid) -> Recovery:
    today = local_today()
    life_events.record_death(paid.person, today, world.user("township_staff"))
    db.session.commit()
    return db.session.scalars(sa.select(Recovery)).one()


def test_county_staff_see_what_is_to_recover_and_mark_it_recovered(world, paid, client, auth):
    today = local_today()
    next_month = next_period()
    recovery = _listed(world, paid)
    staff = world.user("county_staff")
    auth.login_as(staff)
    page = client.get("/subsidies/programs").get_data(as_text=True)
    assert "/subsidies/recoveries" in page  # the tab of the subsidy pages
    page = client.get("/subsidies/recoveries").get_data(as_text=True)
    assert paid.person.name not in page  # masked
    assert recovery.person_masked in page
    assert "养老服务补贴" in page and "180.00" in page and today.isoformat() in page
    assert periods.label("monthly", next_month) in page
    # A note is required, and what was typed stays when it is refused.
    answer = client.post(f"/subsidies/recoveries/{recovery.id}/recovered", data={"note": " "})
    assert answer.status_code == 422
    answer = client.post(f"/subsidies/recoveries/{recovery.id}/recovered", data={"note": "x" * 300})
    assert answer.status_code == 422 and "x" * 300 in answer.get_data(as_text=True)
    answer = client.post(
        f"/subsidies/recoveries/{recovery.id}/recovered", data={"note": "家属退回，回单 0012"}
    )
    assert answer.status_code == 302
    db.session.expire_all()
    done = db.session.get(Recovery, recovery.id)
    assert (done.status, done.recovered_by_id, done.note) == (
        "recovered",
        staff.id,
        "家属退回，回单 0012",
    )
    assert done.recovered_at is not None
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.recovery_recovered")
    )
    assert (entry.actor_id, entry.entity_id, entry.changes["amount_fen"]) == (
        staff.id,
        recovery.id,
        18000,
    )
    # Once recovered it leaves the default list, and cannot be recovered twice.
    assert recovery.person_masked not in client.get("/subsidies/recoveries").get_data(as_text=True)
    assert recovery.person_masked in client.get("/subsidies/recoveries?status=all").get_data(
        as_text=True
    )
    answer = client.post(f"/subsidies/recoveries/{recovery.id}/recovered", data={"note": "再次"})
    assert answer.status_code == 409
    # The original payment is still as the bank had it.
    assert db.session.get(Payment, paid.approved_payment.id).status == "approved"


def test_another_countys_staff_see_nothing_to_recover(world, paid, client, auth):
    from tests.builders import build_user

    recovery = _listed(world, paid)
    auth.login_as(build_user("county_staff", world.county_b, username="county_b_staff"))
    page = client.get("/subsidies/recoveries?status=all").get_data(as_text=True)
    assert recovery.person_masked not in page and "180.00" not in page
    answer = client.post(f"/subsidies/recoveries/{recovery.id}/recovered", data={"note": "越权"})
    assert answer.status_code == 404
    auth.login_as(world.user("township_staff"))
    assert client.get("/subsidies/recoveries").status_code == 403
    db.session.expire_all()
    assert db.session.get(Recovery, recovery.id).status == "to_recover"


def test_a_stopped_enrolment_shows_why_and_from_when(world, paid, client, auth):
    today = local_today()
    next_month = next_period()
    life_events.record_death(paid.person, today, world.user("township_staff"))
    db.session.commit()
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/subsidies/enrolments/{paid.approved.id}").get_data(as_text=True)
    assert periods.label("monthly", next_month) in page and "死亡" in page


def test_nothing_new_is_opened_for_someone_who_moved_out(world):
    today = local_today()
    from eldercare.core.errors import Invalid

    program = make_program(world)
    month = periods.month_start(today)
    person = person_aged(world, month.replace(year=month.year - 65))  # 65 this month

    def candidates():
        return {p.id for p in db.session.scalars(ops.candidates(program, month))}

    assert person.id in candidates()
    life_events.record_move_out(person, today, world.user("county_staff"), destination="西安市")
    with pytest.raises(Invalid) as refused:
        ops.apply(
            program,
            {"person_id": person.id, "applied_on": today, "account_number": "6222020000000001"},
            world.user("township_staff"),
        )
    assert "迁出" in str(refused.value.errors["person_id"][0])
    assert person.id not in candidates()
