"""The registry's one writer of each life event (people.life_events): who may record it,
what dates it takes, that the same fact twice changes nothing, that every feature's answer
is kept on the event, that a failing feature undoes all of it, and that each verified
relative is told once."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people import life_events, signals
from eldercare.people.models import FamilyLink, LifeEvent, LinkStatus, Person
from eldercare.people.operations import add_assessment, update_person
from eldercare.people.signals import Effect


@contextmanager
def receiver(function):
    """``function`` connected to signals.life_event for the block only."""
    signals.life_event.connect(function)
    try:
        yield
    finally:
        signals.life_event.disconnect(function)


def events_of(person: Person) -> list[LifeEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(LifeEvent).where(LifeEvent.person_id == person.id).order_by(LifeEvent.id)
        )
    )


def notices_to(user) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.user_id == user.id, OutboxMessage.channel == "inapp"
            )
        )
    )


def test_a_death_is_recorded_once_with_what_each_feature_did(world):
    today = local_today()
    person, staff = world.person_a, world.user("township_staff")
    died = today - timedelta(days=3)

    def answer(event, **_kwargs):
        return [Effect("test", "床位已空出", family="入住已结束")]

    with receiver(answer):
        first = life_events.record_death(person, died, staff, note="家属告知")
        again = life_events.record_death(person, died, staff)
    assert first.event is not None and not first.already_known
    assert [e.text for e in first.effects] == ["床位已空出"]
    assert again.event is None and again.already_known
    (event,) = events_of(person)
    assert (event.kind, event.occurred_on, event.source, event.note) == (
        "death",
        died,
        "registry",
        "家属告知",
    )
    assert event.effects == [["test", "床位已空出"]]
    assert db.session.get(Person, person.id).death_date == died
    audits = db.session.scalars(
        sa.select(AuditLog).where(
            AuditLog.action == "person.death", AuditLog.entity_id == person.id
        )
    ).all()
    assert len(audits) == 1


def test_each_verified_relative_is_told_once_with_the_family_lines(world, make_user):
    today = local_today()
    person = world.person_a
    pending = make_user("family", username="pending_relative")
    db.session.add(
        FamilyLink(
            user_id=pending.id, person_id=person.id, relation="child", status=LinkStatus.PENDING
        )
    )
    db.session.flush()

    def answer(event, **_kwargs):
        return [Effect("test", "staff only"), Effect("test", "x", family="预约已取消")]

    with receiver(answer):
        life_events.record_death(person, today, world.user("county_staff"))
        life_events.record_death(person, today, world.user("county_staff"))
    (notice,) = notices_to(world.user("family"))
    assert person.name in notice.subject
    assert "预约已取消" in notice.body and "staff only" not in notice.body
    assert notices_to(pending) == []


def test_another_date_for_a_recorded_death_is_refused(world):
    today = local_today()
    staff = world.user("county_staff")
    life_events.record_death(world.person_a, today - timedelta(days=5), staff)
    with pytest.raises(Conflict) as refused:
        life_events.record_death(world.person_a, today, staff)
    assert "death_date" in refused.value.errors
    assert len(events_of(world.person_a)) == 1


@pytest.mark.parametrize("days, why", [(1, "future"), (None, "before birth")])
def test_impossible_dates_are_refused_and_nothing_written(world, days, why):
    """``days`` from today, or the day before the person was born."""
    person = world.person_a
    if days is None:
        day = person.birth_date - timedelta(days=1)
    else:
        day = local_today() + timedelta(days=days)
    with pytest.raises(Invalid) as refused:
        life_events.record_death(person, day, world.user("county_staff"))
    assert "death_date" in refused.value.errors, why
    assert events_of(person) == []
    assert db.session.get(Person, person.id).death_date is None


def test_who_may_record(world):
    today = local_today()
    person = world.person_a
    for role in ("visitor", "family", "operator", "assessor"):
        with pytest.raises(AppError) as refused:
            life_events.record_death(person, today, world.user(role))
        assert refused.value.code == 403, role
    with pytest.raises(AppError):  # staff of another county
        life_events.record_death(world.person_b, today, world.user("township_staff"))
    # A facility's operator records it through a discharge (the beds feature names the
    # facility, having checked the stay).
    recorded = life_events.record_death(
        person,
        today,
        world.user("operator"),
        source="discharge",
        facility_id=world.facility_a.id,
    )
    assert recorded.event.facility_id == world.facility_a.id


def test_a_failing_feature_undoes_the_whole_event(world):
    today = local_today()
    person = world.person_a

    def fail(event, **_kwargs):
        raise Conflict("这个模块拒绝了")

    savepoint = db.session.begin_nested()
    with receiver(fail), pytest.raises(Conflict):
        life_events.record_death(person, today, world.user("county_staff"))
    savepoint.rollback()
    assert events_of(person) == []
    assert db.session.get(Person, person.id).death_date is None


def test_a_move_out_then_the_same_again(world):
    today = local_today()
    person, staff = world.person_a, world.user("township_staff")
    first = life_events.record_move_out(person, today, staff, destination="西安市雁塔区")
    again = life_events.record_move_out(person, today, staff, destination="西安市雁塔区")
    assert first.event.kind == "moved_out" and again.already_known
    fresh = db.session.get(Person, person.id)
    assert (fresh.moved_out_on, fresh.moved_out_to, fresh.has_left) == (today, "西安市雁塔区", True)
    life_events.record_death(person, today, staff)  # a death after a move is still learned
    with pytest.raises(Conflict):
        life_events.record_move_out(person, today, staff)


def test_losing_dibao_is_an_event_other_status_changes_are_not(world):
    person, staff = world.person_a, world.user("county_staff")
    base = {"name": person.name, "region_id": person.region_id}
    update_person(person, {**base, "economic_status": "dibao"}, staff)
    update_person(person, {**base, "economic_status": "tekun_dispersed"}, staff)
    assert events_of(person) == []
    update_person(person, {**base, "economic_status": "low_income"}, staff)
    (event,) = events_of(person)
    assert event.kind == "status_lost"
    assert event.details == {"economic_status": ["tekun_dispersed", "low_income"]}


def test_a_new_ability_level_is_an_event_the_first_and_the_same_are_not(world):
    today = local_today()
    person, staff = world.person_a, world.user("county_staff")
    day = today - timedelta(days=30)
    add_assessment(person, {"assessed_on": day, "level": "mild"}, staff)
    add_assessment(person, {"assessed_on": day + timedelta(days=1), "level": "mild"}, staff)
    assert events_of(person) == []
    add_assessment(person, {"assessed_on": day + timedelta(days=2), "level": "severe"}, staff)
    # An older assessment entered late is not the person's level now.
    add_assessment(person, {"assessed_on": day - timedelta(days=400), "level": "intact"}, staff)
    (event,) = events_of(person)
    assert (event.kind, event.details) == (
        "ability_changed",
        {"ability_level": ["mild", "severe"]},
    )


def test_the_edit_form_records_a_death_through_the_same_operation(world):
    today = local_today()
    person, staff = world.person_a, world.user("county_staff")
    base = {"name": person.name, "region_id": person.region_id}
    update_person(person, {**base, "death_date": today}, staff)
    update_person(person, {**base, "death_date": today}, staff)
    assert [e.kind for e in events_of(person)] == ["death"]
    with pytest.raises(Conflict):  # undoing a death is a correction, not an edit
        update_person(person, {**base, "death_date": None}, staff)


def test_the_registry_page_records_a_death_and_lists_it(world, client, auth):
    today = local_today()
    auth.login_as(world.user("township_staff"))
    person = world.person_a
    page = client.post(f"/people/{person.id}/death", data={"death_date": today.isoformat()})
    assert page.status_code == 302
    shown = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "重要事项记录" in shown and "登记去世或迁出本县" not in shown
    assert [e.source for e in events_of(person)] == ["registry"]


def test_a_refused_date_keeps_what_was_typed(world, client, auth):
    today = local_today()
    auth.login_as(world.user("township_staff"))
    person = world.person_a
    tomorrow = (today + timedelta(days=1)).isoformat()
    page = client.post(
        f"/people/{person.id}/move-out", data={"moved_out_on": tomorrow, "moved_out_to": "咸阳市"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "日期不能晚于今天" in html
    assert f'value="{tomorrow}"' in html and 'value="咸阳市"' in html
    assert events_of(person) == []
