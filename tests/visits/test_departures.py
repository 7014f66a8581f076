"""A person the county no longer serves: a death or a move out of the county recorded by the
registry's one writer ends the visit plan at once, takes the person off the visitors' lists
(page and API), cancels the reminders about them waiting in the outbox and writes again,
without them, the digests still waiting; the nightly sweep repairs what was written past the
one writer, and finds nothing on a healthy database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.operations import create_token
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Conflict
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people import life_events
from eldercare.people.models import AbilityAssessment
from eldercare.people.operations import add_assessment
from eldercare.visits import operations as ops
from eldercare.visits import tasks
from eldercare.visits.models import CareAssignment, CareTarget
from tests.builders import build_person, build_user
from tests.visits.helpers import BEIJING, admin, at, build_target, record


def morning() -> datetime:
    """7:30 this morning, county time (the day read when the test runs)."""
    return datetime.combine(local_today(), time(7, 30), tzinfo=BEIJING).astimezone(UTC)


def messages(user, prefix: str, channel: str | None = None) -> list[OutboxMessage]:
    stmt = sa.select(OutboxMessage).where(
        OutboxMessage.user_id == user.id, OutboxMessage.idempotency_key.startswith(prefix)
    )
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    return list(
        db.session.scalars(
            stmt.order_by(OutboxMessage.id).execution_options(populate_existing=True)
        )
    )


def audits(action: str, target: CareTarget) -> list[AuditLog]:
    return list(
        db.session.scalars(
            sa.select(AuditLog).where(
                AuditLog.action == action,
                AuditLog.entity_type == "CareTarget",
                AuditLog.entity_id == target.id,
            )
        )
    )


@pytest.fixture
def visitor(world):
    user = world.user("visitor")
    user.email = "visitor@example.test"
    db.session.flush()
    return user


@pytest.fixture
def plans(world, visitor):
    """The visitor's people: 张秀英 (world.person_a, a verified relative) overdue, 刘桂芳
    due in two days; and 孙淑珍 of another visitor (also with an e-mail address)."""
    today = local_today()
    other = build_user("visitor", world.village_a, email="other@example.test")
    start = today - timedelta(days=200)

    def plan(person, last_visit_days_ago, visitors):
        person.lives_alone = True
        target = build_target(person, visitors, enrolled_on=start)  # general: every 90 days
        record(target, admin(), at(today - timedelta(days=last_visit_days_ago)))
        return target

    return {
        "other": other,
        "dies": plan(world.person_a, 95, [visitor]),
        "soon": plan(build_person(world.village_a, name="刘桂芳"), 88, [visitor]),
        "elsewhere": plan(build_person(world.village_a, name="孙淑珍"), 95, [other]),
    }


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_token(user, 'field app', 30)[1]}"}


def test_a_death_takes_the_person_off_the_visitors_lists_at_once(
    world, client, auth, visitor, plans
):
    today = local_today()
    target = plans["dies"]
    recorded = life_events.record_death(target.person, today, admin())
    db.session.commit()

    assert not target.active and target.end_reason == "death" and target.ended_on == today
    assert target.assignments == []
    [effect] = [e for e in recorded.effects if e.feature == "visits"]
    assert str(effect.text) == "探访计划已结束（去世）"
    assert str(effect.family) == "定期探访已停止。"
    # The relative's one notice says so.
    [notice] = messages(world.user("family"), "life-event:", "inapp")
    assert "定期探访已停止。" in notice.body

    auth.login_as(visitor)
    for url in ("/visits/", "/visits/targets", "/visits/targets?include_ended=1"):
        page = client.get(url).get_data(as_text=True)
        assert "张秀英" not in page and "刘桂芳" in page, url
    assert client.get(f"/visits/targets/{target.id}").status_code == 404
    due = client.get("/api/v1/visits/due", headers=_bearer(visitor)).get_json()
    assert [item["name"] for item in due] == ["刘桂芳"]
    # Staff still find the ended plan and its history.
    auth.login_as(world.user("township_staff"))
    assert "张秀英" in client.get("/visits/targets?include_ended=1").get_data(as_text=True)


def test_reminders_waiting_about_the_person_are_cancelled(visitor, plans):
    today = local_today()
    tasks.remind_overdue(morning())
    [email] = messages(visitor, f"visit-overdue:{plans['dies'].id}:", "email")
    assert email.status == "pending" and email.about_person_id == plans["dies"].person_id
    assert len(messages(plans["other"], "visit-overdue:", "email")) == 1

    life_events.record_death(plans["dies"].person, today, admin())

    [email] = messages(visitor, f"visit-overdue:{plans['dies'].id}:", "email")
    assert email.status == "cancelled" and "died" in email.last_error
    assert messages(plans["other"], "visit-overdue:", "email")[0].status == "pending"
    # The overdue job running again adds nothing about the person.
    assert tasks.remind_overdue(morning()) == 0


def test_a_digest_waiting_is_written_again_without_the_person(visitor, plans):
    today = local_today()
    tasks.send_daily_digests(morning())
    [first] = messages(visitor, "visit-digest:", "email")
    assert first.status == "pending" and "张*英" in first.body and "刘*芳" in first.body
    assert len(messages(plans["other"], "visit-digest:", "email")) == 1

    life_events.record_death(plans["dies"].person, today, admin())

    first, again = messages(visitor, "visit-digest:", "email")
    assert first.status == "cancelled"
    assert again.status == "pending" and again.idempotency_key != first.idempotency_key
    assert "张*英" not in again.body and "刘*芳" in again.body
    assert "逾期 0 人，即将到期 1 人" in again.subject
    # The in-app digest was delivered when written: no second one in the inbox.
    assert len(messages(visitor, "visit-digest:", "inapp")) == 1
    # Another visitor's digest is left alone; the morning job again sends nothing new.
    assert messages(plans["other"], "visit-digest:", "email")[0].status == "pending"
    assert tasks.send_daily_digests(morning()) == 0
    # A second departure: the rewritten digest is cancelled in turn, nothing left to say.
    life_events.record_move_out(plans["soon"].person, today, admin(), destination="西安市")
    statuses = [m.status for m in messages(visitor, "visit-digest:", "email")]
    assert statuses == ["cancelled", "cancelled"]


def test_a_digest_already_sent_is_not_written_again(visitor, plans):
    today = local_today()
    tasks.send_daily_digests(morning())
    [digest] = messages(visitor, "visit-digest:", "email")
    digest.status = "sent"
    db.session.flush()
    life_events.record_death(plans["dies"].person, today, admin())
    assert [m.status for m in messages(visitor, "visit-digest:", "email")] == ["sent"]


def test_a_move_out_of_the_county_ends_the_plan_as_moved_away(world, plans):
    today = local_today()
    target = plans["soon"]
    recorded = life_events.record_move_out(target.person, today, admin(), destination="西安市")
    assert not target.active and target.end_reason == "moved" and target.assignments == []
    assert [str(e.text) for e in recorded.effects if e.feature == "visits"] == [
        "探访计划已结束（迁出）"
    ]
    with pytest.raises(Conflict):
        ops.enrol(target.person, admin(), ("lives_alone",))


def test_following_a_departure_again_changes_nothing(plans):
    today = local_today()
    target = plans["dies"]
    life_events.record_death(target.person, today, admin())
    entries = len(audits("care_target.ended", target))
    assert ops.follow_departure(target.person, "death", today, None) is None
    assert life_events.record_death(target.person, today, admin()).already_known
    assert len(audits("care_target.ended", target)) == entries == 1
    assert tasks.repair_departed(morning()) == 0


def test_a_death_before_the_enrolment_ends_the_plan_on_the_enrolment_day(world):
    """A plan never ends before it began (the registry learned of the death late)."""
    today = local_today()
    target = build_target(
        build_person(world.village_a, lives_alone=True), enrolled_on=today - timedelta(days=3)
    )
    life_events.record_death(target.person, today - timedelta(days=10), admin())
    assert not target.active and target.ended_on == today - timedelta(days=3)


def test_a_new_ability_level_recomputes_the_tier_once(world):
    today = local_today()
    person = build_person(world.village_a, lives_alone=True)
    person.assessments.append(
        AbilityAssessment(assessed_on=today - timedelta(days=30), level="mild")
    )
    db.session.flush()
    target = build_target(person, enrolled_on=today - timedelta(days=20))
    assert target.tier == "general"
    add_assessment(person, {"assessed_on": today, "level": "severe"}, admin())
    assert target.tier == "key"
    assert len(audits("care_target.tier_recomputed", target)) == 1


def test_the_repair_sweep_finds_nothing_on_a_healthy_database(plans):
    assert tasks.repair_departed(morning()) == 0


def test_the_repair_sweep_ends_what_was_written_past_the_one_writer(visitor, plans):
    today = local_today()
    tasks.remind_overdue(morning())
    tasks.send_daily_digests(morning())
    dies = plans["dies"]
    dies.person.death_date = today - timedelta(days=1)  # e.g. an old import, no event
    # An ended plan whose visitors were kept (ended before plans released them).
    ended = build_target(build_person(dies.person.region, lives_alone=True), [visitor])
    ops.end_target(ended, "withdrawn", today, admin())
    db.session.add(CareAssignment(target=ended, visitor_id=plans["other"].id))
    # A reminder waiting about someone who moved away, whose plan already ended.
    moved = build_person(dies.person.region, name="周玉珍", moved_out_on=today)
    db.session.add(
        OutboxMessage(
            idempotency_key="visit-overdue:old:email",
            channel="email",
            user_id=visitor.id,
            recipient=visitor.email,
            subject="逾期探访：周*珍",
            about_person_id=moved.id,
        )
    )
    db.session.commit()

    assert tasks.repair_departed(morning()) == 1 + 1 + 1
    db.session.expire_all()
    assert not dies.active and dies.end_reason == "death"
    assert dies.ended_on == today - timedelta(days=1) and dies.assignments == []
    assert ended.assignments == []
    assert [a.note for a in audits("care_target.ended", dies)] == ["repair"]
    assert [m.status for m in messages(visitor, f"visit-overdue:{dies.id}:", "email")] == [
        "cancelled"
    ]
    assert messages(visitor, "visit-overdue:old", "email")[0].status == "cancelled"
    digests = messages(visitor, "visit-digest:", "email")
    assert [m.status for m in digests] == ["cancelled", "pending"]
    assert "张*英" not in digests[1].body
    assert tasks.repair_departed(morning()) == 0


def test_the_dispatcher_never_sends_a_cancelled_reminder(app, visitor, plans, monkeypatch):
    from eldercare.notifications import tasks as outbox

    today = local_today()
    sent = []
    monkeypatch.setattr(outbox, "send", lambda message: sent.append(message.idempotency_key))
    tasks.remind_overdue(morning())
    life_events.record_death(plans["dies"].person, today, admin())
    db.session.commit()
    outbox.dispatch_outbox(utcnow() + timedelta(minutes=1))
    assert sent and not [key for key in sent if f"visit-overdue:{plans['dies'].id}:" in key]
    assert any(key.startswith("visit-overdue:") for key in sent)  # the others went out
