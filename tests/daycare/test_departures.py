"""Day care follows the registry's life events (issue 19): a death or a move out of the
county ends the person's current memberships on the date of the event, audited; a date
before the person joined is refused and nothing is written; the nightly sweep repairs a
death or a move written past the registry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.core.errors import Conflict
from eldercare.daycare import tasks
from eldercare.daycare.models import Member
from eldercare.daycare.operations.departures import end_for_departure
from eldercare.extensions import db
from eldercare.people import life_events
from eldercare.people.models import LifeEvent, Person
from tests.daycare.helpers import make_center, make_member


@pytest.fixture
def member(world, make_person):
    joined = local_today() - timedelta(days=40)
    make_center(world.facility_a)
    return make_member(world.facility_a, make_person(world.village_a), joined=joined)


def _left_on(member: Member):
    db.session.expire_all()
    return db.session.get(Member, member.id).left_on


def _audited(member: Member) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(AuditLog.action, AuditLog.note).where(
                AuditLog.entity_type == "Member",
                AuditLog.entity_id == member.id,
                AuditLog.action == "daycare.member_left",
            )
        )
    ]


def test_a_death_ends_the_membership_on_the_date(world, member):
    on = local_today() - timedelta(days=3)
    recorded = life_events.record_death(member.person, on, world.user("township_staff"))
    assert _left_on(member) == on
    texts = [e for e in recorded.effects if e.feature == "daycare"]
    assert len(texts) == 1 and on.isoformat() in str(texts[0].text)
    assert world.facility_a.name in str(texts[0].family)
    assert [note for _action, note in _audited(member)] == ["death"]


def test_a_move_out_of_the_county_ends_the_membership(world, member):
    on = local_today() - timedelta(days=3)
    life_events.record_move_out(member.person, on, world.user("township_staff"), destination="西安")
    assert _left_on(member) == on
    assert [note for _action, note in _audited(member)] == ["moved_out"]


def test_the_same_event_again_changes_nothing(world, member):
    on = local_today() - timedelta(days=3)
    life_events.record_death(member.person, on, world.user("township_staff"))
    again = life_events.record_death(member.person, on, world.user("county_staff"))
    assert again.already_known
    assert end_for_departure(member.person, on, "death", None) == []
    assert len(_audited(member)) == 1


def test_a_date_before_the_person_joined_is_refused_and_nothing_written(
    client, auth, world, member
):
    joined = local_today() - timedelta(days=40)
    day = joined - timedelta(days=1)
    auth.login_as(world.user("township_staff"))
    answer = client.post(
        f"/people/{member.person_id}/move-out",
        data={"moved_out_on": day.isoformat(), "moved_out_to": "西安"},
    )
    assert answer.status_code == 409
    assert joined.isoformat() in answer.get_data(as_text=True)
    assert _left_on(member) is None
    assert db.session.get(Person, member.person_id).moved_out_on is None
    assert (
        db.session.scalar(sa.select(LifeEvent.id).where(LifeEvent.person_id == member.person_id))
        is None
    )


def test_the_sweep_ends_memberships_of_the_dead_and_the_moved_out(world, member, make_person):
    today = local_today()
    joined = today - timedelta(days=40)
    on = today - timedelta(days=3)
    moved = make_member(world.facility_a, make_person(world.village_a), joined=joined)
    member.person.death_date = on  # both written past the registry's one writer
    moved.person.moved_out_on = on
    db.session.commit()
    assert tasks.repair_departed() == 2
    assert _left_on(member) == on and _left_on(moved) == on
    assert [note for _action, note in _audited(member)] == ["repair"]
    assert tasks.repair_departed() == 0


def test_the_sweep_leaves_an_impossible_date_and_repairs_the_rest(world, member, make_person):
    today = local_today()
    joined = today - timedelta(days=40)
    on = today - timedelta(days=3)
    other = make_member(world.facility_a, make_person(world.village_a), joined=joined)
    member.person.death_date = joined - timedelta(days=1)
    other.person.death_date = on
    db.session.commit()
    assert tasks.repair_departed() == 1
    assert _left_on(member) is None and _left_on(other) == on
    assert tasks.repair_departed() == 0


def test_a_healthy_database_needs_no_repair(world, member):
    assert tasks.repair_departed() == 0


def test_the_moved_out_cannot_join_again(world, member, make_person):
    today = local_today()
    on = today - timedelta(days=3)
    person = make_person(world.village_a)
    life_events.record_move_out(person, on, world.user("township_staff"))
    with pytest.raises(Conflict):
        make_member(world.facility_a, person, joined=today)
