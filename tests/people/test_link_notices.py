"""Family links are told: the staff who can verify a request hear it is waiting (once per
request), the family member hears the decision; nobody else hears anything, and no notice
carries an ID number."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people.notices import without_id_numbers
from tests.daycare.helpers import make_center, make_member
from tests.people.test_family_links import decide, link_of, request_link


@pytest.fixture
def son(make_user):
    return make_user(
        "family",
        username="liu_son",
        display_name="刘小军",
        phone="13611112222",
        email="son@example.test",
    )


@pytest.fixture
def relative(world, make_person):
    """A person of village A who goes to the day-care center of facility A."""
    person = make_person(world.village_a, name="刘淑珍")
    make_center(world.facility_a)
    make_member(world.facility_a, person)
    return person


@pytest.fixture
def bystanders(world, make_user):
    """Accounts that must never hear of the request: staff of another township and another
    county, the operator of another facility, a visitor of the village, the county, admin."""
    return [
        make_user("township_staff", world.township_b, username="other_township"),
        make_user("operator", facility=world.facility_b, username="other_operator"),
        world.user("visitor"),
        world.user("county_staff"),
        world.user("admin"),
        world.user("family"),
    ]


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def told(user) -> list[OutboxMessage]:
    return [m for m in outbox() if m.user_id == user.id]


def test_a_request_is_told_once_to_the_township_and_the_facility(
    client, auth, world, son, relative, bystanders
):
    township, operator = world.user("township_staff"), world.user("operator")
    township.email = "township@example.test"
    db.session.flush()
    auth.login_as(son)
    assert request_link(client, relative).status_code == 302
    # Sent again (a double tap): refused, and nobody is told twice.
    assert request_link(client, relative).status_code == 409

    for staff in (township, operator):
        channels = sorted(m.channel for m in told(staff))
        assert channels == (["email", "inapp"] if staff is township else ["inapp"])
        message = told(staff)[0]
        assert "刘淑珍" in message.subject
        assert "刘小军" in message.body
        assert message.link == "/people/links"
        assert relative.id_number not in message.subject + message.body
    for other in bystanders:
        assert told(other) == [], other.username
    # The family member is told nothing until someone decides.
    assert told(son) == []


def test_the_family_member_is_told_the_decision_in_every_channel_they_have(
    client, auth, world, son, relative, bystanders
):
    auth.login_as(son)
    request_link(client, relative)
    link = link_of(son, relative)
    auth.login_as(world.user("township_staff"))
    assert decide(client, link, "verified", note="已电话核实").status_code == 302

    messages = told(son)
    assert sorted(m.channel for m in messages) == ["email", "inapp", "sms"]
    assert {m.recipient for m in messages} == {"", "son@example.test", "13611112222"}
    inapp = next(m for m in messages if m.channel == "inapp")
    assert "刘淑珍" in inapp.subject and "已电话核实" in inapp.body
    assert inapp.link == f"/people/{relative.id}"
    for other in bystanders:
        assert told(other) == [], other.username


def test_a_refusal_is_told_without_the_id_number_typed_in_its_note(
    client, auth, world, son, relative
):
    auth.login_as(son)
    request_link(client, relative)
    link = link_of(son, relative)
    auth.login_as(world.user("township_staff"))
    note = f"身份证号 {relative.id_number} 与户籍不符"
    assert decide(client, link, "rejected", note=note).status_code == 302

    messages = told(son)
    assert len(messages) == 3
    for message in messages:
        assert relative.id_number not in message.subject + message.body
        assert "与户籍不符" in message.body
        assert message.link == "/people/links/request"


def test_a_request_made_again_after_a_refusal_is_told_again(client, auth, world, son, relative):
    township = world.user("township_staff")
    auth.login_as(son)
    request_link(client, relative)
    link = link_of(son, relative)
    auth.login_as(township)
    decide(client, link, "rejected", note="关系不明")
    auth.login_as(son)
    assert request_link(client, relative).status_code == 302
    assert len(told(township)) == 2
    auth.login_as(township)
    decide(client, link_of(son, relative), "verified")
    # The refusal and the verification: two decisions, two notices in each channel.
    assert sorted(m.channel for m in told(son)) == ["email"] * 2 + ["inapp"] * 2 + ["sms"] * 2


def test_a_refused_decision_tells_nobody(client, auth, world, son, relative):
    auth.login_as(son)
    request_link(client, relative)
    link = link_of(son, relative)
    auth.login_as(world.user("operator"))
    before = len(outbox())
    decide(client, link, "verified")
    after_verify = len(outbox())
    # Deciding again is refused (already decided): nothing more is enqueued.
    decide(client, link, "rejected")
    assert len(outbox()) == after_verify > before


def test_id_like_digits_are_masked():
    assert without_id_numbers("号码610302194404041234有误") == "号码610*************34有误"
    assert without_id_numbers("电话 13611112222") == "电话 13611112222"
