"""The daily job: township staff hear of checks coming due and overdue, once each; past the
grace period the enrolment is suspended (once), through the subsidy feature's suspension."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.subsidies.existence import operations as ex
from eldercare.subsidies.existence.tasks import run_checks
from tests.builders import build_user
from tests.existence.helpers import at, check, checked_program, enrolled


def _keys(user) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(OutboxMessage.idempotency_key).where(OutboxMessage.user_id == user.id)
        )
    )


def _told(user, stage: str, enrolment) -> bool:
    prefix = f"subsidy-existence-{stage}:{enrolment.id}:"
    return any(k.startswith(prefix) for k in _keys(user))


def _due(world, **kw):
    program = checked_program(world, **kw)
    enrolment = enrolled(world, program)
    return enrolment, ex.next_due(enrolment, ex.policy_of(program))


def test_nothing_to_do_far_from_the_due_date(world):
    _enrolment, due = _due(world)
    assert run_checks(now=at(due - timedelta(days=31))) == 0


def test_the_township_staff_hear_30_days_ahead_once(world):
    enrolment, due = _due(world)
    township = world.user("township_staff")
    sent = run_checks(now=at(due - timedelta(days=30)))
    assert sent >= 1
    assert any(
        k.startswith(f"subsidy-existence-due:{enrolment.id}:{due}:") for k in _keys(township)
    )
    assert run_checks(now=at(due - timedelta(days=30))) == 0  # the same run again
    assert run_checks(now=at(due - timedelta(days=10))) == 0  # a later day, same stage
    # The county staff are not told when the township has staff of its own.
    assert _keys(world.user("county_staff")) == set()


def test_overdue_is_told_once_more(world):
    enrolment, due = _due(world)
    township = world.user("township_staff")
    run_checks(now=at(due - timedelta(days=30)))
    assert run_checks(now=at(due + timedelta(days=1))) >= 1
    assert _told(township, "overdue", enrolment)
    assert run_checks(now=at(due + timedelta(days=2))) == 0
    assert enrolment.status == "active"  # still in the grace period


def test_the_county_hears_when_the_township_has_no_staff(world):
    enrolment, due = _due(world)
    world.user("township_staff").active = False
    db.session.flush()
    county = build_user("county_staff", world.county_a)
    run_checks(now=at(due - timedelta(days=30)))
    assert _told(county, "due", enrolment)


def test_a_check_recorded_ends_the_reminders(world):
    enrolment, due = _due(world)
    check(enrolment, world.user("township_staff"), due - timedelta(days=40))
    assert run_checks(now=at(due + timedelta(days=1))) == 0


def test_the_dead_are_not_reminded_nor_suspended(world):
    enrolment, due = _due(world, grace=0)
    enrolment.person.death_date = due - timedelta(days=100)
    db.session.flush()
    assert run_checks(now=at(due + timedelta(days=5))) == 0
    assert enrolment.status == "active"  # the life event (or its repair sweep) stops it


def test_past_the_grace_period_the_enrolment_is_suspended_once(world):
    enrolment, due = _due(world, grace=60)
    township = world.user("township_staff")
    assert run_checks(now=at(due + timedelta(days=60))) >= 1  # overdue, last day of grace
    assert enrolment.status == "active"
    day = due + timedelta(days=61)
    count = run_checks(now=at(day))
    db.session.refresh(enrolment)
    assert (enrolment.status, enrolment.suspend_reason) == ("suspended", "existence_check")
    # From the period after the one under way (monthly program).
    assert enrolment.suspended_from == date(day.year + day.month // 12, day.month % 12 + 1, 1)
    assert count >= 2  # the suspension and the notice of it
    assert any(
        k.startswith(f"subsidy-existence-suspended:{enrolment.id}:") for k in _keys(township)
    )
    entry = db.session.scalar(
        sa.select(AuditLog).where(
            AuditLog.action == "subsidies.enrolment_suspended", AuditLog.entity_id == enrolment.id
        )
    )
    assert entry.changes["reason"] == "existence_check" and entry.actor_id is None
    assert run_checks(now=at(day)) == 0
    assert run_checks(now=at(day + timedelta(days=1))) == 0


def test_a_check_after_the_suspension_resumes_and_quiets_the_job(world):
    enrolment, due = _due(world, grace=0, back_pay="out_of_contact")
    day = due + timedelta(days=1)
    run_checks(now=at(day))
    db.session.refresh(enrolment)
    assert enrolment.status == "suspended"
    suspended_from = enrolment.suspended_from
    check(enrolment, world.user("county_staff"), day, today=day)
    assert enrolment.status == "active" and enrolment.arrears_from <= suspended_from
    assert run_checks(now=at(day + timedelta(days=1))) == 0


def test_a_death_and_a_move_recorded_in_the_registry_end_the_reminders(world):
    from eldercare.core.db import local_today
    from eldercare.people.life_events import record_death, record_move_out

    program = checked_program(world, grace=0)
    died = enrolled(world, program)
    moved = enrolled(world, program)
    due = ex.next_due(died, ex.policy_of(program))
    county = world.user("county_staff")
    record_death(died.person, local_today() - timedelta(days=3), county)
    record_move_out(moved.person, local_today() - timedelta(days=3), county, destination="西安")
    db.session.flush()
    assert run_checks(now=at(max(due, local_today()) + timedelta(days=5))) == 0
    assert not _told(world.user("township_staff"), "overdue", died)
    assert not _told(world.user("township_staff"), "overdue", moved)
