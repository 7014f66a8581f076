"""The subsidy jobs on a simulated clock: each reminder is put in the outbox once, however
often the job runs; activation and the stopping of the dead are repeated safely too."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.subsidies import operations as ops
from eldercare.subsidies import tasks
from eldercare.subsidies.models import Enrolment
from tests.builders import build_user
from tests.subsidies.helpers import enrol, make_program, person_aged
from tests.subsidy_files.helpers import colleague

BEIJING = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 8, minute: int = 45) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING).astimezone(UTC)


def inbox(user, prefix: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            db.select(OutboxMessage)
            .where(
                OutboxMessage.user_id == user.id,
                OutboxMessage.channel == "inapp",
                OutboxMessage.idempotency_key.startswith(prefix),
            )
            .order_by(OutboxMessage.id)
        )
    )


@pytest.fixture
def enrolment(world):
    program = make_program(world)
    enrolment = enrol(
        world,
        program,
        person_aged(world, date(1944, 2, 2), name="王秀兰"),
        applied_on=date(2026, 3, 2),
    )
    enrolment.next_review_on = date(2026, 9, 30)
    db.session.flush()
    return enrolment


def test_the_yearly_review_is_announced_30_days_ahead_and_again_when_overdue(world, enrolment):
    township = world.user("township_staff")
    assert tasks.send_reminders(now=at(date(2026, 8, 30))) == 0  # 31 days ahead
    assert tasks.send_reminders(now=at(date(2026, 8, 31))) == 1
    assert tasks.send_reminders(now=at(date(2026, 8, 31))) == 0  # the same run again
    assert tasks.send_reminders(now=at(date(2026, 9, 30))) == 0  # due today: not overdue yet
    assert tasks.send_reminders(now=at(date(2026, 10, 1))) == 1
    assert tasks.send_reminders(now=at(date(2026, 10, 20))) == 0
    due, overdue = inbox(township, "subsidy-review-")
    assert due.idempotency_key.startswith(f"subsidy-review-due:{enrolment.id}:2026-09-30:")
    assert overdue.idempotency_key.startswith(f"subsidy-review-overdue:{enrolment.id}:")
    assert "王*兰" in due.subject and "王秀兰" not in due.body  # names masked in messages
    # Reviewed: the next review is a year on; nothing more until 30 days before it.
    ops.record_review(enrolment, "", township, today=date(2026, 10, 21))
    assert tasks.send_reminders(now=at(date(2026, 10, 22))) == 0


def test_a_township_without_staff_leaves_the_review_to_the_county(world, enrolment):
    township = world.user("township_staff")
    township.active = False
    db.session.flush()
    tasks.send_reminders(now=at(date(2026, 9, 1)))
    assert [m.idempotency_key.split(":")[0] for m in inbox(world.user("county_staff"), "")] == [
        "subsidy-review-due"
    ]


def test_the_candidate_list_once_a_month_from_the_first(world):
    program = make_program(world)
    person_aged(world, date(1961, 4, 15), sex="M")  # 65 on 15 April 2026
    person_aged(world, date(1961, 5, 15))  # 65 in May
    staff = world.user("county_staff")
    assert tasks.send_reminders(now=at(date(2026, 4, 1))) == 1
    assert tasks.send_reminders(now=at(date(2026, 4, 1))) == 0
    assert tasks.send_reminders(now=at(date(2026, 4, 15))) == 0
    (notice,) = inbox(staff, "subsidy-candidates:")
    assert notice.idempotency_key.startswith(f"subsidy-candidates:{program.id}:2026-04:")
    assert "1" in notice.subject and "65" in notice.body
    assert notice.link == f"/subsidies/reports?program_id={program.id}"
    assert tasks.send_reminders(now=at(date(2026, 5, 1))) == 1
    # Another county's staff hear nothing of it.
    assert inbox(build_user("county_staff", world.county_b), "") == []


def test_a_batch_not_approved_three_days_before_it_is_due(world):
    program = make_program(world)  # in advance: April is due at the bank on 10 April
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 2))
    staff = world.user("county_staff")
    assert tasks.send_reminders(now=at(date(2026, 4, 6))) == 0
    assert tasks.send_reminders(now=at(date(2026, 4, 7))) == 1  # not drawn up yet
    ops.generate(program, date(2026, 4, 1), staff)
    assert tasks.send_reminders(now=at(date(2026, 4, 8))) == 0  # the same batch: told once
    (notice,) = inbox(staff, "subsidy-batch-due:")
    assert "2026-04" in notice.subject and "2026-04-10" in notice.body
    # May's batch is approved in time: no reminder.
    may = ops.generate(program, date(2026, 5, 1), staff).batch
    assert ops.approve(may, colleague(world)).approved
    assert tasks.send_reminders(now=at(date(2026, 5, 8))) == 0


def test_activation_and_stopping_the_dead_are_repeated_safely(world):
    program = make_program(world)
    township, county = world.user("township_staff"), world.user("county_staff")
    her = person_aged(world, date(1944, 2, 2))
    enrolment = ops.apply(
        program,
        {"person_id": her.id, "applied_on": date(2026, 3, 2), "account_number": "6222020000000001"},
        township,
    )
    ops.review(enrolment, True, "", township)
    ops.decide(enrolment, True, "", county, today=date(2026, 3, 3))  # notice until 9 March
    assert tasks.activate_due(now=at(date(2026, 3, 9))) == 0
    assert tasks.activate_due(now=at(date(2026, 3, 10))) == 1
    assert tasks.activate_due(now=at(date(2026, 3, 10))) == 0
    assert db.session.get(Enrolment, enrolment.id).status == "active"
    her.death_date = date(2026, 6, 3)
    db.session.flush()
    assert tasks.repair_departed(now=at(date(2026, 6, 10))) == 1
    assert tasks.repair_departed(now=at(date(2026, 6, 10))) == 0
    stopped = db.session.get(Enrolment, enrolment.id)
    assert (stopped.status, stopped.stop_reason, stopped.stop_month) == (
        "stopped",
        "death",
        date(2026, 7, 1),
    )


def test_the_repair_sweep_lists_a_payment_sent_after_a_move_out(world):
    """A move out of the county written past the registry's one writer (an old import):
    the sweep stops the enrolment from the next month and lists the May payment, already
    sent, for recovery; it commits its work and finds nothing the next night."""
    import sqlalchemy as sa

    from eldercare.core.audit import AuditLog
    from eldercare.subsidies.models import Payment, Recovery

    program = make_program(world)
    staff = world.user("county_staff")
    her = person_aged(world, date(1944, 2, 2))
    enrolment = enrol(world, program, her, applied_on=date(2026, 3, 2))
    for month in (3, 4, 5):
        batch = ops.generate(program, date(2026, month, 1), staff).batch
        assert ops.approve(batch, colleague(world)).approved
    may = db.session.scalar(
        sa.select(Payment).where(
            Payment.enrolment_id == enrolment.id, Payment.period == date(2026, 5, 1)
        )
    )
    may.status = "exported"
    her.moved_out_on = date(2026, 4, 12)
    db.session.commit()
    # The enrolment stopped, the May payment listed (April, the month of the move, is due).
    assert tasks.repair_departed(now=at(date(2026, 5, 20))) == 2
    db.session.rollback()  # what the sweep did was committed
    stopped = db.session.get(Enrolment, enrolment.id)
    assert (stopped.status, stopped.stop_reason, stopped.stop_month) == (
        "stopped",
        "moved_out",
        date(2026, 5, 1),
    )
    (recovery,) = db.session.scalars(sa.select(Recovery)).all()
    assert (recovery.payment_id, recovery.reason, recovery.left_on, recovery.status) == (
        may.id,
        "moved_out",
        date(2026, 4, 12),
        "to_recover",
    )
    assert db.session.get(Payment, may.id).status == "exported"  # never edited
    assert (
        db.session.scalar(
            sa.select(AuditLog.note).where(AuditLog.action == "subsidies.recovery_listed")
        )
        == "repair"
    )
    assert tasks.repair_departed(now=at(date(2026, 5, 21))) == 0


def test_every_job_is_scheduled():
    from eldercare.scheduler import JOBS

    targets = {job.name: job.target for job in JOBS}
    assert targets["subsidies-activate"] == "eldercare.subsidies.tasks:activate_due"
    assert targets["subsidies-repair"] == "eldercare.subsidies.tasks:repair_departed"
    assert targets["subsidies-reminders"] == "eldercare.subsidies.tasks:send_reminders"
    assert all(job.kind == "daily" for job in JOBS if job.name.startswith("subsidies-"))
