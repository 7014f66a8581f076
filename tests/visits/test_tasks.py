"""The scheduler's visit jobs on a simulated clock: the morning digest lists exactly what is
due, each reminder and escalation is put in the outbox once, and a scheduler that was down for
days catches up once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.visits import operations as ops
from eldercare.visits import tasks
from tests.builders import build_person, build_user
from tests.visits.helpers import BEIJING, admin, at, build_target, record


def morning(day, hour=7, minute=30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING).astimezone(UTC)


def inapp(user, prefix: str) -> list[OutboxMessage]:
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
def plans(world):
    """Three people of one visitor: overdue, due in two days, due in a month; and one of
    another visitor."""
    today = local_today()
    visitor = world.user("visitor")
    start = today - timedelta(days=200)

    def plan(name, last_visit_days_ago, visitors=(visitor,)):
        person = build_person(world.village_a, name=name, born=today.replace(year=1955))
        person.lives_alone = True
        target = build_target(person, list(visitors), enrolled_on=start)  # general: 90 days
        record(target, admin(), at(today - timedelta(days=last_visit_days_ago)))
        return target

    other = build_user("visitor", world.village_a)
    return {
        "visitor": visitor,
        "other": other,
        "overdue": plan("王秀兰", 95),
        "soon": plan("刘桂芳", 88),
        "later": plan("陈玉兰", 30),
        "elsewhere": plan("孙淑珍", 95, visitors=(other,)),
    }


def test_digest_lists_exactly_the_visits_due(plans):
    today = local_today()
    sent = tasks.send_daily_digests(morning(today))
    assert sent >= 2  # one per visitor at least (in-app, plus e-mail when they have one)
    [digest] = inapp(plans["visitor"], "visit-digest:")
    assert "逾期 1 人，即将到期 1 人" in digest.subject
    assert "王*兰" in digest.body and "刘*芳" in digest.body
    assert "陈*兰" not in digest.body and "孙*珍" not in digest.body
    assert "已逾期 5 天" in digest.body
    [other] = inapp(plans["other"], "visit-digest:")
    assert "孙*珍" in other.body and "王*兰" not in other.body


def test_digest_once_a_day_and_again_the_next_morning(plans):
    today = local_today()
    tasks.send_daily_digests(morning(today))
    assert tasks.send_daily_digests(morning(today, 9)) == 0
    tasks.send_daily_digests(morning(today + timedelta(days=1)))
    assert len(inapp(plans["visitor"], "visit-digest:")) == 2


def test_a_visit_takes_the_person_off_the_next_digest(plans):
    today = local_today()
    record(plans["overdue"], plans["visitor"])
    record(plans["soon"], plans["visitor"])
    tasks.send_daily_digests(morning(today + timedelta(days=1)))
    assert inapp(plans["visitor"], "visit-digest:") == []


def test_overdue_reminder_is_sent_once_per_missed_date(plans):
    today = local_today()
    tasks.remind_overdue(morning(today, 8))
    tasks.remind_overdue(morning(today, 8, 5))
    tasks.remind_overdue(morning(today + timedelta(days=1), 8))
    reminders = inapp(plans["visitor"], "visit-overdue:")
    assert [m.link for m in reminders] == [f"/visits/targets/{plans['overdue'].id}"]
    # Visited, then missed again: a new due date, a new reminder.
    target = plans["overdue"]
    record(target, plans["visitor"], at(today - timedelta(days=1)))
    later = today + timedelta(days=95)
    tasks.remind_overdue(morning(later, 8))
    tasks.remind_overdue(morning(later, 9))
    about_it = [
        m
        for m in inapp(plans["visitor"], "visit-overdue:")
        if m.idempotency_key.startswith(f"visit-overdue:{target.id}:")
    ]
    assert len(about_it) == 2


def test_scheduler_down_for_three_days_catches_up_once(plans):
    # The scheduler last ran today; it is down for the next three days and restarts on the
    # fourth: one reminder per missed due date (the one that fell due while it was down
    # included), one digest for that day, not one per missed day; a second start adds nothing.
    today = local_today()
    tasks.send_daily_digests(morning(today))
    tasks.remind_overdue(morning(today, 8))
    back = today + timedelta(days=4)
    for _start in range(2):
        tasks.send_daily_digests(morning(back, 9))
        tasks.remind_overdue(morning(back, 9))
    keys = [m.idempotency_key for m in inapp(plans["visitor"], "visit-overdue:")]
    assert sorted(keys) == sorted(
        [
            f"visit-overdue:{plans['overdue'].id}:{plans['overdue'].next_due_on}:"
            f"{plans['visitor'].id}:inapp",
            f"visit-overdue:{plans['soon'].id}:{plans['soon'].next_due_on}:"
            f"{plans['visitor'].id}:inapp",
        ]
    )
    assert len(inapp(plans["visitor"], "visit-digest:")) == 2  # today's and the restart's


def test_escalation_to_township_staff_once(world, plans):
    today = local_today()
    staff = world.user("township_staff")
    # Five days overdue: under the 7-day limit.
    assert tasks.escalate_overdue(morning(today, 8, 30)) == 0
    tasks.escalate_overdue(morning(today + timedelta(days=2), 8, 30))
    [alert] = inapp(staff, "visit-escalation:")
    assert "王*兰" in alert.body and "孙*珍" in alert.body and "刘*芳" not in alert.body
    assert tasks.escalate_overdue(morning(today + timedelta(days=3), 8, 30)) == 0
    # The next plan crossing the limit is a new alert about it alone.
    tasks.escalate_overdue(morning(today + timedelta(days=9), 8, 30))
    alerts = inapp(staff, "visit-escalation:")
    assert len(alerts) == 2 and "刘*芳" in alerts[1].body and "王*兰" not in alerts[1].body


def test_escalation_goes_to_the_county_when_the_township_has_no_staff(world, plans):
    today = local_today()
    world.user("township_staff").active = False
    db.session.flush()
    tasks.escalate_overdue(morning(today + timedelta(days=2), 8, 30))
    assert len(inapp(world.user("county_staff"), "visit-escalation:")) == 1


def test_policy_limits_are_per_county(world, plans):
    today = local_today()
    ops.save_policy(world.county_a, {"escalation_days": 3}, admin())
    tasks.escalate_overdue(morning(today, 8, 30))
    assert len(inapp(world.user("township_staff"), "visit-escalation:")) == 1


def test_major_event_tells_the_visitors_at_once(world, plans):
    target = plans["later"]
    ops.report_event(target, {"kind": "fall", "occurred_at": datetime.now(UTC)}, admin())
    [notice] = inapp(plans["visitor"], "visit-event:")
    assert "陈*兰" in notice.subject
    # Missed deadline: an overdue reminder and an immediate escalation.
    tasks.remind_overdue(datetime.now(UTC) + timedelta(hours=25))
    assert any("event" in m.idempotency_key for m in inapp(plans["visitor"], "visit-overdue:"))
    tasks.escalate_overdue(datetime.now(UTC) + timedelta(hours=25))
    assert "陈*兰" in inapp(world.user("township_staff"), "visit-escalation:")[0].body


def test_the_digest_never_lists_people_who_died_or_moved_away(plans):
    """Even written into the registry without its one writer (the repair sweep ends those
    plans at night), a departed person is not in the digest."""
    today = local_today()
    plans["overdue"].person.death_date = today - timedelta(days=1)
    plans["soon"].person.moved_out_on = today - timedelta(days=1)
    db.session.flush()
    tasks.send_daily_digests(morning(today))
    assert inapp(plans["visitor"], "visit-digest:") == []  # nothing else was due
    assert tasks.repair_departed(morning(today)) >= 2
    assert not plans["overdue"].active and plans["overdue"].end_reason == "death"
    assert not plans["soon"].active and plans["soon"].end_reason == "moved"


def test_messages_are_written_in_the_recipients_language(plans):
    today = local_today()
    plans["visitor"].locale = "en"
    db.session.flush()
    tasks.remind_overdue(morning(today))
    [reminder] = inapp(plans["visitor"], "visit-overdue:")
    assert reminder.subject.startswith("Overdue visit")


def test_turning_80_makes_the_tier_high_the_next_morning(world):
    """Nobody edits anything: the morning job notices the birthday."""
    from eldercare.core import resident_id

    today = local_today()
    born = resident_id.years_before(today, 80) + timedelta(days=1)  # 80 tomorrow
    person = build_person(world.village_a, born=born, lives_alone=True)
    target = build_target(person, enrolled_on=today - timedelta(days=30))
    assert target.tier == "general"
    tasks.send_daily_digests(morning(today))
    assert target.tier == "general"
    tasks.send_daily_digests(morning(today + timedelta(days=1)))
    db.session.refresh(target)
    assert target.tier == "high"
    assert target.next_due_on == today - timedelta(days=23)  # never visited: a week after enrolment
