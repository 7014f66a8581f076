"""When a check is due: one interval after the activation or the last check, never before
the check was switched on; the list of checks due and overdue, and who is left out."""

from __future__ import annotations

from datetime import date, timedelta

from eldercare.extensions import db
from eldercare.subsidies.existence import operations as ex
from eldercare.subsidies.existence import queries
from tests.existence.helpers import check, checked_program, enrolled


def test_due_on_keeps_the_day_and_caps_it_at_the_28th():
    assert ex.due_on(date(2026, 3, 15), 12) == date(2027, 3, 15)
    assert ex.due_on(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert ex.due_on(date(2026, 8, 30), 6) == date(2027, 2, 28)
    assert ex.due_on(date(2026, 11, 10), 24) == date(2028, 11, 10)


def test_first_due_one_interval_after_activation_then_after_each_check(world):
    program = checked_program(world, interval=12)
    enrolment = enrolled(world, program)
    policy = ex.policy_of(program)
    activated = enrolment.activated_on
    assert ex.next_due(enrolment, policy) == ex.due_on(activated, 12)

    check(enrolment, world.user("township_staff"), activated + timedelta(days=300))
    assert ex.next_due(enrolment, policy) == ex.due_on(activated + timedelta(days=300), 12)


def test_not_due_before_the_check_was_switched_on(world):
    program = checked_program(world, interval=6)
    enrolment = enrolled(world, program)
    policy = ex.policy_of(program)
    policy.counted_from = enrolment.activated_on + timedelta(days=100)
    db.session.flush()
    assert ex.next_due(enrolment, policy) == ex.due_on(policy.counted_from, 6)


def test_the_list_holds_due_within_30_days_and_overdue_only(world):
    program = checked_program(world, interval=12)
    enrolment = enrolled(world, program)
    due = ex.next_due(enrolment, ex.policy_of(program))

    assert queries.checks_due(due - timedelta(days=31)) == []
    [soon] = queries.checks_due(due - timedelta(days=30))
    assert (soon.enrolment_id, soon.overdue, soon.due_on) == (enrolment.id, False, due)
    [late] = queries.checks_due(due + timedelta(days=5))
    assert late.overdue and late.days_overdue == 5
    assert late.grace_ends_on == due + timedelta(days=60)
    assert late.name != enrolment.person.name and late.name.startswith(enrolment.person.name[0])


def test_programs_without_a_check_and_switched_off_ones_are_not_listed(world):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    due = ex.next_due(enrolment, ex.policy_of(program))
    ex.save_policy(
        program,
        {"active": False, "interval_months": 12, "grace_days": 60, "back_pay_reason": None},
        world.user("county_staff"),
    )
    assert queries.checks_due(due + timedelta(days=1)) == []


def test_the_dead_and_the_moved_away_are_not_listed(world):
    program = checked_program(world)
    alive = enrolled(world, program)
    dead = enrolled(world, program)
    moved = enrolled(world, program)
    # What a life event's receivers have not stopped yet (the repair sweep's business).
    dead.person.death_date = date(2026, 6, 1)
    moved.person.moved_out_on = date(2026, 6, 1)
    db.session.flush()
    due = ex.next_due(alive, ex.policy_of(program))
    listed = {c.enrolment_id for c in queries.checks_due(due + timedelta(days=1))}
    assert alive.id in listed
    assert dead.id not in listed and moved.id not in listed


def test_a_stopped_enrolment_is_not_listed(world):
    from eldercare.subsidies import operations as ops

    program = checked_program(world)
    enrolment = enrolled(world, program)
    due = ex.next_due(enrolment, ex.policy_of(program))
    ops.stop(enrolment, "withdrawal", date(2026, 6, 1), "", world.user("county_staff"))
    assert queries.checks_due(due + timedelta(days=1)) == []


def test_switched_on_again_counts_from_that_day(world):
    program = checked_program(world)
    county = world.user("county_staff")
    off = {"active": False, "interval_months": 12, "grace_days": 60, "back_pay_reason": None}
    ex.save_policy(program, off, county, today=date(2026, 3, 1))
    assert ex.policy_of(program).counted_from == date(2020, 1, 1)  # kept while off
    policy = ex.save_policy(program, {**off, "active": True}, county, today=date(2026, 10, 1))
    assert policy.counted_from == date(2026, 10, 1)
    policy = ex.save_policy(program, {**off, "active": True, "grace_days": 30}, county)
    assert policy.counted_from == date(2026, 10, 1)  # a change while on keeps it


def test_a_program_switched_on_lately_has_nobody_due_yet(world):
    program = checked_program(world, interval=12)
    enrolment = enrolled(world, program)
    policy = ex.policy_of(program)
    policy.counted_from = date(2026, 11, 1)
    db.session.flush()
    assert queries.checks_due(date(2027, 9, 30)) == []
    [due] = queries.checks_due(date(2027, 10, 2))
    assert (due.enrolment_id, due.due_on) == (enrolment.id, date(2027, 11, 1))
