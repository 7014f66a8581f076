"""A draft sent again after a lost reply: the same entries record one visit; changed entries
are not dropped in silence but offered as an audited correction of the saved visit, by its
recorder within the window. The phone's script is answered so the confirmation shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError, Conflict
from eldercare.extensions import db
from eldercare.visits import operations as ops
from eldercare.visits.models import Visit
from tests.builders import build_person, build_user
from tests.visits.helpers import build_target, visit_data, visit_form

TOKEN = "3c9e1f7a-lost-reply"


@pytest.fixture
def plan(world):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(world.village_a, lives_alone=True), [visitor], today - timedelta(days=10)
    )
    return target, visitor


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Visit))


def test_changed_entries_of_a_saved_form_are_named_not_dropped(plan):
    target, visitor = plan
    first = {**visit_data(), "client_token": TOKEN, "summary": "老人腿疼"}
    ops.record_visit(target, dict(first), visitor)
    corrected = {**first, "mood": "low", "health_notes": "血压160/100"}
    with pytest.raises(Conflict) as refused:
        ops.record_visit(target, dict(corrected), visitor)
    said = refused.value.errors["client_token"]
    assert "精神状态: 良好 → 情绪低落" in str(said) and "健康情况备注" in str(said)
    assert "160" not in str(said)  # names the health notes, never shows them
    assert _count() == 1


def test_the_recorder_applies_corrections_as_an_audited_edit(plan):
    target, visitor = plan
    first = {**visit_data(), "client_token": TOKEN}
    visit, _ = ops.record_visit(target, dict(first), visitor)
    corrected = {**first, "mood": "low", "health_notes": "血压160/100", "follow_up": "屋顶漏水"}
    ops.correct_visit(target, {**corrected, "corrects_token": TOKEN}, visitor)
    db.session.refresh(visit)
    assert visit.mood == "low" and visit.health_notes == "血压160/100"
    assert [f.problem for f in visit.follow_ups] == ["屋顶漏水"]
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "visit.corrected"))
    assert entry.entity_id == visit.id and entry.actor_id == visitor.id
    assert entry.changes["mood"] == ["good", "low"]
    assert "血压" not in str(entry.changes)  # health notes never in clear in the log
    assert _count() == 1


def test_only_the_recorder_corrects_and_only_within_the_window(plan, world):
    target, visitor = plan
    first = {**visit_data(), "client_token": TOKEN}
    visit, _ = ops.record_visit(target, dict(first), visitor)
    other = build_user("visitor", world.village_a)
    with pytest.raises(AppError) as refused:
        ops.correct_visit(target, {**first, "mood": "low", "corrects_token": TOKEN}, other)
    assert refused.value.code == 403
    visit.created_at = utcnow() - timedelta(hours=ops.CORRECTION_HOURS + 1)
    db.session.flush()
    with pytest.raises(Conflict):
        ops.correct_visit(target, {**first, "mood": "low", "corrects_token": TOKEN}, visitor)
    assert db.session.get(Visit, visit.id).mood == "good"


def test_page_offers_the_correction_and_applies_it(plan, client, auth):
    target, visitor = plan
    auth.login_as(visitor)
    url = f"/visits/targets/{target.id}/visits/new"
    form = visit_form(client_token=TOKEN, summary="电话联系")
    assert client.post(url, data=form).status_code == 302  # saved; the phone lost the reply
    changed = {**form, "summary": "电话联系，下周上门", "mood": "low"}
    page = client.post(url, data=changed)
    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert 'id="apply-corrections"' in html and f'value="{TOKEN}"' in html
    assert "下周上门" in html  # what was typed is kept
    fresh = html.split('name="client_token" value="')[1].split('"')[0]
    assert fresh != TOKEN  # Submit would record a separate visit, on purpose
    done = client.post(
        url,
        data={**changed, "client_token": fresh, "corrects_token": TOKEN, "apply_corrections": "1"},
    )
    assert done.status_code == 302
    assert "修改已应用" in client.get("/visits/").get_data(as_text=True)
    [visit] = db.session.scalars(sa.select(Visit)).all()
    assert visit.summary == "电话联系，下周上门" and visit.mood == "low"


def test_too_late_the_page_says_so_and_offers_no_correction(plan, client, auth):
    target, visitor = plan
    auth.login_as(visitor)
    url = f"/visits/targets/{target.id}/visits/new"
    form = visit_form(client_token=TOKEN)
    client.post(url, data=form)
    db.session.execute(sa.update(Visit).values(created_at=utcnow() - timedelta(days=4)))
    page = client.post(url, data={**form, "mood": "low"})
    html = page.get_data(as_text=True)
    assert page.status_code == 409 and "不能在此修改" in html
    assert 'id="apply-corrections"' not in html


def test_the_phone_script_gets_an_answer_and_the_confirmation_waits(plan, client, auth):
    """With JavaScript the form is sent by fetch: the confirmation must not be used up by a
    redirect the script follows and nobody sees."""
    target, visitor = plan
    auth.login_as(visitor)
    url = f"/visits/targets/{target.id}/visits/new"
    form = visit_form(client_token=TOKEN)
    answer = client.post(url, data=form, headers={"X-Visit-Form": "fetch"})
    assert answer.status_code == 200 and answer.json == {
        "redirect": "/visits/",
        "outcome": "created",
    }
    assert "探访已记录" in client.get("/visits/").get_data(as_text=True)
    again = client.post(url, data=form, headers={"X-Visit-Form": "fetch"})
    assert again.json["outcome"] == "already"
    assert "已经记录" in client.get("/visits/").get_data(as_text=True)
