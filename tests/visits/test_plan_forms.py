"""The action forms of the visit plan page, refused as staff meet them: the page comes back
with the form sent open, its messages beside the fields (a conflict's at the form's top) and
every value typed, selects included; nothing is written."""

from __future__ import annotations

from datetime import datetime, timedelta

import lxml.html
import pytest
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.visits import operations as ops
from eldercare.visits.models import CareTarget, FollowUp, MajorEvent
from tests.builders import build_person
from tests.visits.helpers import BEIJING, admin, build_target, record


def now() -> str:
    """The event form's time as a browser sends it, read when the test runs."""
    return datetime.now(BEIJING).strftime("%Y-%m-%dT%H:%M")


def _form(html: str, action: str):
    tree = lxml.html.fromstring(html)
    forms = [f for f in tree.forms if f.get("action") == action]
    assert forms, f"no form posting to {action}"
    return forms[0]


def _shown(form, name: str) -> str | None:
    el = form.xpath(".//*[@name=$n]", n=name)[0]
    if el.tag == "select":
        chosen = el.xpath(".//option[@selected]")
        return chosen[0].get("value") if chosen else None
    return el.get("value")


def _open(form) -> bool:
    details = form.xpath("ancestor::details")
    return bool(details) and details[0].get("open") is not None


def _field_message(form, name: str) -> str:
    el = form.xpath(".//*[@name=$n]", n=name)[0]
    assert "is-invalid" in el.get("class", "")
    return " ".join(
        m.text_content() for m in form.xpath(".//*[contains(@class,'invalid-feedback')]")
    )


def _alert(form) -> str:
    details = form.xpath("ancestor::details")[0]
    return " ".join(
        a.text_content() for a in details.xpath(".//*[contains(@class,'alert-danger')]")
    )


@pytest.fixture
def plan(world):
    return build_target(build_person(world.village_a, lives_alone=True), [world.user("visitor")])


def refused(case: str) -> tuple[str, dict, str, dict]:
    """(path, data sent, field with the message, typed values that must come back)"""
    sent_now = now()
    return {
        "tier": (
            "tier",
            {"tier": "general", "reason": ""},
            "reason",
            {"tier": "general"},
        ),
        "end": (
            "end",
            {"reason": "withdrawn", "ended_on": "2026-13-45"},
            "ended_on",
            {"reason": "withdrawn", "ended_on": "2026-13-45"},
        ),
        "event-time": (
            "events",
            {"kind": "other", "occurred_at": "2026-13-45T09:30", "note": "摔倒后送医"},
            "occurred_at",
            {"kind": "other", "occurred_at": "2026-13-45T09:30", "note": "摔倒后送医"},
        ),
        "event-note": (
            "events",
            {"kind": "fall", "occurred_at": sent_now, "note": "长" * 501},
            "note",
            {"kind": "fall", "occurred_at": sent_now},
        ),
    }[case]


@pytest.mark.parametrize("case", ["tier", "end", "event-time", "event-note"])
def test_a_refused_plan_form_comes_back_open_with_its_message_and_what_was_typed(
    world, client, auth, plan, case
):
    path, data, field, kept = refused(case)
    auth.login_as(world.user("township_staff"))
    action = f"/visits/targets/{plan.id}/{path}"
    response = client.post(action, data=data)
    assert response.status_code == 422
    form = _form(response.get_data(as_text=True), action)
    assert _open(form)
    assert any("\u4e00" <= c <= "\u9fff" for c in _field_message(form, field))
    for name, value in kept.items():
        assert _shown(form, name) == value, name
    db.session.expire_all()
    target = db.session.get(CareTarget, plan.id)
    assert target.active and target.override_tier is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MajorEvent)) == 0


def test_an_event_for_an_ended_plan_says_so_and_what_to_do_and_keeps_the_form(
    world, client, auth, plan
):
    today = local_today()
    auth.login_as(world.user("township_staff"))
    url = f"/visits/targets/{plan.id}"
    assert (
        client.post(url + "/end", data={"reason": "moved", "ended_on": str(today)}).status_code
        == 302
    )
    # The event form was open in another tab before the plan ended.
    sent = {"kind": "disaster", "occurred_at": now(), "note": "房屋漏雨"}
    response = client.post(url + "/events", data=sent)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    form = _form(html, url + "/events")
    assert _open(form)
    message = _alert(form)
    assert f"已于 {today} 停止" in message and "重新纳入" in message
    assert all(_shown(form, k) == v for k, v in sent.items())
    assert form.xpath(".//button")[0].get("disabled") is not None  # shown, not to be sent again
    assert f'href="/people/{plan.person_id}#visit-plan"' in html  # where to enrol again
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MajorEvent)) == 0
    # The ended plan offers no other form.
    assert f'action="{url}/tier"' not in html and f'action="{url}/visitors"' not in html


def test_a_tier_is_not_changed_on_an_ended_plan(world, client, auth, plan):
    today = local_today()
    ops.end_target(plan, "moved", today, admin())
    db.session.flush()
    auth.login_as(world.user("township_staff"))
    action = f"/visits/targets/{plan.id}/tier"
    response = client.post(action, data={"tier": "high", "reason": "独居"})
    assert response.status_code == 409
    form = _form(response.get_data(as_text=True), action)
    assert "停止" in _alert(form)
    assert _shown(form, "tier") == "high" and _shown(form, "reason") == "独居"
    db.session.expire_all()
    assert db.session.get(CareTarget, plan.id).override_tier is None


def test_a_refused_close_of_a_follow_up_keeps_the_resolution(world, client, auth, plan):
    today = local_today()
    visitor = world.user("visitor")
    record(plan, visitor, follow_up="燃气灶漏气", follow_up_due_on=today + timedelta(days=3))
    follow_up = db.session.scalar(sa.select(FollowUp))
    auth.login_as(world.user("township_staff"))
    action = f"/visits/follow-ups/{follow_up.id}/close"
    response = client.post(action, data={"resolution": "长" * 501})
    assert response.status_code == 422
    form = _form(response.get_data(as_text=True), action)
    assert _field_message(form, "resolution")
    assert _shown(form, "resolution") == "长" * 501
    # Closed meanwhile by the visitor: the conflict is said at the form, the text kept.
    ops.close_follow_up(follow_up, "已更换软管", visitor)
    db.session.flush()
    response = client.post(action, data={"resolution": "已请燃气公司上门"})
    assert response.status_code == 409
    form = _form(response.get_data(as_text=True), action)
    assert "已办结" in _alert_of_card(form) and _shown(form, "resolution") == "已请燃气公司上门"


def _alert_of_card(form) -> str:
    card = form.xpath("ancestor::div[contains(@class,'card')]")[0]
    return " ".join(a.text_content() for a in card.xpath(".//*[contains(@class,'alert-danger')]"))
