"""One death followed everywhere (issue 19, item 5). A person with a bed stay, a day-care
membership, a visit plan with a reminder waiting in the outbox, two subsidy enrolments (one
payment in a draft batch, one approved for the next period), a confirmed booking and two
verified relatives dies; the death is recorded by each route (the registry page, a discharge,
a data feed) and every module is left as people.life_events promises, in one transaction: a
failure in any module leaves everything as it was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.beds import operations as beds_ops
from eldercare.beds.models import Bed, Stay
from eldercare.bookings.models import Booking
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Conflict
from eldercare.daycare.models import Member
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people import signals
from eldercare.people.models import LifeEvent, Person
from eldercare.subsidies import operations as subsidy_ops
from eldercare.subsidies import periods
from eldercare.subsidies.models import Enrolment, Payment
from eldercare.visits import tasks as visit_tasks
from eldercare.visits.models import CareTarget
from tests.bookings.helpers import book, family_of, make_service, slot_start
from tests.builders import LOW_RISKS
from tests.daycare.helpers import make_center, make_member
from tests.feeds.helpers import death_row, imported
from tests.subsidies.helpers import county_staff, enrol, make_program
from tests.visits.helpers import build_target


def next_period():
    """The month after this one (the programs here pay monthly)."""
    return periods.next_period("monthly", periods.period_containing("monthly", local_today()))


@dataclass
class Life:
    person: Person
    bed: Bed
    stay: Stay
    member: Member
    plan: CareTarget
    reminder_ids: list[int]
    drafted: Enrolment
    approved: Enrolment
    approved_payment: Payment
    booking: Booking
    relatives: list


@pytest.fixture
def life(world, make_room, make_bed, make_user) -> Life:
    today = local_today()
    next_month = next_period()
    person = world.person_a
    staff = world.user("county_staff")
    bed = make_bed(make_room(world.facility_a, number="301"))
    stay = beds_ops.admit(
        bed, person, today - timedelta(days=200), LOW_RISKS, world.user("operator")
    )
    make_center(world.facility_a)
    member = make_member(world.facility_a, person, joined=today - timedelta(days=100))
    # A plan overdue for weeks: the overdue job has put a reminder in the outbox (an e-mail
    # waits there to be sent; the in-app copy is delivered at once).
    world.user("visitor").email = "visitor@example.test"
    plan = build_target(person, [world.user("visitor")], enrolled_on=today - timedelta(days=90))
    visit_tasks.remind_overdue(now=utcnow())
    reminders = [
        m.id
        for m in db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.user_id == world.user("visitor").id,
                OutboxMessage.status == "pending",
            )
        )
    ]
    assert reminders, "the overdue job enqueued no reminder: the scenario is wrong"
    # Two programs: next month drawn up in one (draft), approved in the other.
    allowance = make_program(world, code="GL", name="高龄津贴")
    service = make_program(world, code="FW", name="养老服务补贴", kind="service_subsidy")
    applied = today - timedelta(days=120)
    drafted = enrol(world, allowance, person, applied_on=applied)
    approved = enrol(world, service, person, applied_on=applied)
    subsidy_ops.generate(allowance, next_month, staff)
    batch = subsidy_ops.generate(service, next_month, staff).batch
    assert subsidy_ops.approve(batch, county_staff(world, "checker")).approved
    approved_payment = db.session.scalar(
        sa.select(Payment).where(Payment.enrolment_id == approved.id, Payment.period == next_month)
    )
    assert approved_payment is not None and approved_payment.status == "approved"
    second = family_of(person, username="second_relative")
    visiting = make_service(world.facility_a)
    booking = book(visiting, person, world.user("family"), slot_start(3))
    assert booking.status == "confirmed"
    return Life(
        person,
        bed,
        stay,
        member,
        plan,
        reminders,
        drafted,
        approved,
        approved_payment,
        booking,
        [world.user("family"), second],
    )


def record_by_registry(world, client, auth, life: Life):
    today = local_today()
    auth.login_as(world.user("township_staff"))
    return client.post(f"/people/{life.person.id}/death", data={"death_date": today.isoformat()})


def record_by_discharge(world, client, auth, life: Life):
    today = local_today()
    auth.login_as(world.user("operator"))
    return client.post(
        f"/facilities/{world.facility_a.id}/beds/{life.bed.id}/discharge",
        data={"discharged_on": today.isoformat(), "reason": "death", "note": ""},
    )


def record_by_feed(world, client, auth, life: Life):
    """The funeral service's list, imported by county staff (uploaded, columns chosen,
    processed: the same operations as the feed's pages)."""
    today = local_today()
    done = imported(world.user("county_staff"), [death_row(1, life.person, day=today)])
    assert done.applied + done.already_known == 1, "the row was not applied"

    class Answer:
        status_code = 302

    return Answer()


ROUTES = {
    "registry": (record_by_registry, "registry"),
    "discharge": (record_by_discharge, "discharge"),
    "feed": (record_by_feed, "feed"),
}


def everything(life: Life) -> dict:
    """What each module holds about the person, as plain values."""
    db.session.expire_all()
    stay = db.session.get(Stay, life.stay.id)
    bed = db.session.get(Bed, life.bed.id)
    enrolments = {
        e.id: (e.status, e.stop_reason, e.stop_month)
        for e in db.session.scalars(
            sa.select(Enrolment).where(Enrolment.person_id == life.person.id)
        )
    }
    payments = {
        p.id: (p.enrolment_id, p.period, p.kind, p.status, p.amount_fen)
        for p in db.session.scalars(
            sa.select(Payment)
            .join(Enrolment, Enrolment.id == Payment.enrolment_id)
            .where(Enrolment.person_id == life.person.id)
        )
    }
    return {
        "death": db.session.get(Person, life.person.id).death_date,
        "events": [
            (e.kind, e.source)
            for e in db.session.scalars(
                sa.select(LifeEvent).where(LifeEvent.person_id == life.person.id)
            )
        ],
        "stay": (stay.discharged_on, stay.discharge_reason),
        "bed": bed.shown_status,
        "member": db.session.get(Member, life.member.id).left_on,
        "plan": db.session.get(CareTarget, life.plan.id).active,
        "reminders": sorted(
            db.session.scalars(
                sa.select(OutboxMessage.status).where(OutboxMessage.id.in_(life.reminder_ids))
            )
        ),
        "enrolments": enrolments,
        "payments": payments,
        "booking": db.session.get(Booking, life.booking.id).status,
        "told": {
            user.id: db.session.scalar(
                sa.select(sa.func.count()).where(
                    OutboxMessage.user_id == user.id,
                    OutboxMessage.channel == "inapp",
                    OutboxMessage.idempotency_key.like("life-event:%"),
                )
            )
            for user in life.relatives
        },
    }


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_one_death_reaches_every_module_at_once(world, client, auth, life, route):
    today = local_today()
    next_month = next_period()
    record, source = ROUTES[route]
    answer = record(world, client, auth, life)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    now = everything(life)
    assert now["death"] == today
    assert now["events"] == [("death", source)]
    assert now["stay"] == (today, "death")
    assert now["bed"] == "vacant"
    assert now["member"] == today
    assert now["plan"] is False
    assert set(now["reminders"]) == {"cancelled"}
    assert now["enrolments"][life.drafted.id] == ("stopped", "death", next_month)
    assert now["enrolments"][life.approved.id] == ("stopped", "death", next_month)
    drafted_later = [
        p for p in now["payments"].values() if p[0] == life.drafted.id and p[1] >= next_month
    ]
    assert drafted_later == [], "the draft batch still pays the dead"
    original = now["payments"][life.approved_payment.id]
    assert original[3] == "approved", "an approved payment is never edited"
    reversals = [
        p
        for p in now["payments"].values()
        if p[0] == life.approved.id and p[2] == "reversal" and p[1] == next_month
    ]
    assert len(reversals) == 1 and reversals[0][4] == -original[4]
    assert now["booking"] == "cancelled"
    assert now["told"] == {user.id: 1 for user in life.relatives}

    # The visitor's list no longer shows the person, at once.
    auth.login_as(world.user("visitor"))
    assert life.person.name not in client.get("/visits/").get_data(as_text=True)

    # The same death again, by the same route: nothing changes.
    record(world, client, auth, life)
    assert everything(life) == now


def test_a_failure_in_any_module_leaves_everything_as_it_was(world, client, auth, life):
    before = everything(life)

    def refuse(event, **_kwargs):
        raise Conflict("最后一个模块拒绝了")

    signals.life_event.connect(refuse)
    try:
        answer = record_by_registry(world, client, auth, life)
    finally:
        signals.life_event.disconnect(refuse)
    assert answer.status_code == 409
    assert "最后一个模块拒绝了" in answer.get_data(as_text=True)
    assert everything(life) == before


def test_the_death_list_shows_on_the_page_of_the_recorder(world, client, auth, life):
    answer = record_by_registry(world, client, auth, life)
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    event = db.session.scalar(sa.select(LifeEvent).where(LifeEvent.person_id == life.person.id))
    for _feature, text in event.effects:
        assert text in page
    features = {feature for feature, _text in event.effects}
    assert {"beds", "daycare", "visits", "subsidies", "bookings"} <= features
