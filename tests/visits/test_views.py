"""Visit pages as their users meet them: a refused form keeps what was typed, the phone list,
coverage figures recomputed independently, the ledger export, data protection."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.visits.coverage import coverage, month_bounds
from eldercare.visits.models import CareTarget, Visit, VisitPolicy
from tests.builders import build_person
from tests.visits.helpers import BEIJING, admin, at, build_target, record, visit_form


def test_visitor_sees_only_assigned_people_due(world, client, auth):
    today = local_today()
    visitor = world.user("visitor")
    mine = build_target(
        build_person(world.village_a, name="周桂香", lives_alone=True),
        [visitor],
        today - timedelta(days=30),
    )
    build_target(
        build_person(world.village_a, name="吴秀珍", lives_alone=True),
        [],
        today - timedelta(days=30),
    )
    auth.login_as(visitor)
    page = client.get("/visits/").get_data(as_text=True)
    assert "周桂香" in page and "吴秀珍" not in page
    assert f'id="target-{mine.id}"' in page.split('id="due-soon"')[0]  # overdue section


def test_recording_takes_the_person_off_the_due_list(world, client, auth):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(world.village_a, name="周桂香", lives_alone=True),
        [visitor],
        today - timedelta(days=30),
    )
    auth.login_as(visitor)
    response = client.post(f"/visits/targets/{target.id}/visits/new", data=visit_form())
    assert response.status_code == 302
    page = client.get("/visits/").get_data(as_text=True)
    before_done = page.split('id="done-today"')[0]
    assert f'id="target-{target.id}"' not in before_done
    assert f'id="target-{target.id}"' in page


def test_a_refused_visit_form_keeps_what_was_typed(world, client, auth):
    visitor = world.user("visitor")
    target = build_target(build_person(world.village_a, lives_alone=True), [visitor])
    auth.login_as(visitor)
    future = datetime.now(BEIJING) + timedelta(days=2)
    form = visit_form(future, summary="老人说最近睡眠不好", health="changed")
    response = client.post(f"/visits/targets/{target.id}/visits/new", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "老人说最近睡眠不好" in page
    assert 'value="changed" autocomplete="off" checked' in page
    assert "时间" in page or "future" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 0


def test_form_sent_twice_after_lost_signal_records_once(world, client, auth):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(world.village_a, lives_alone=True), [visitor], today - timedelta(days=3)
    )
    auth.login_as(visitor)
    form = visit_form(client_token="0f8c2a9e6b1d4c3a")
    assert client.post(f"/visits/targets/{target.id}/visits/new", data=form).status_code == 302
    assert client.post(f"/visits/targets/{target.id}/visits/new", data=form).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1


def test_health_notes_and_location_are_encrypted_at_rest(world):
    target = build_target(build_person(world.village_a, lives_alone=True))
    record(target, admin(), health_notes="高血压，血压160/100", location_text="村口小卖部")
    raw = db.session.execute(sa.text("SELECT health_notes, location_text FROM visit")).one()
    assert "高血压" not in raw[0] and "小卖部" not in raw[1]
    assert db.session.scalar(sa.select(Visit.health_notes)) == "高血压，血压160/100"


def test_coverage_matches_an_independent_count(world, client, auth):
    """The monthly rate recomputed from the visit rows by hand."""
    today = local_today()
    first, _next = month_bounds(today)
    start = first - timedelta(days=60)
    people = [build_person(world.village_a, lives_alone=True) for _ in range(4)]
    targets = [build_target(p, enrolled_on=start) for p in people]
    record(targets[0], admin(), at(today))
    record(targets[1], admin(), at(first - timedelta(days=3)))  # last month: not counted
    record(targets[2], admin(), at(today))
    # Ended before the month: not to visit this month.
    targets[3].active = False
    targets[3].ended_on = first - timedelta(days=1)
    targets[3].end_reason = "moved"
    db.session.flush()
    month_start = datetime.combine(first, datetime.min.time(), tzinfo=BEIJING).astimezone(UTC)
    rows = db.session.execute(sa.select(CareTarget.id, CareTarget.ended_on)).all()
    expected_targets = [i for i, ended in rows if ended is None or ended >= first]
    visited = {
        v.target_id
        for v in db.session.scalars(sa.select(Visit).where(Visit.visited_at >= month_start))
        if v.target_id in expected_targets
    }
    result = coverage(world.county_a, today, sa.true())
    assert (result.total.targets, result.total.visited) == (len(expected_targets), len(visited))
    assert result.total.rate == 2 / 3
    [township] = result.by_subregion
    assert township.region.id == world.township_a.id and township.visited == 2
    auth.login_as(world.user("county_staff"))
    page = client.get("/visits/coverage").get_data(as_text=True)
    assert "66.7%" in page


def test_ledger_export_masks_ids_and_leaves_out_health(world, client, auth):
    today = local_today()
    target = build_target(
        build_person(world.village_a, name="郑玉梅", lives_alone=True),
        enrolled_on=today - timedelta(days=5),
    )
    record(target, admin(), summary="=HYPERLINK(1)", health_notes="糖尿病")
    auth.login_as(world.user("township_staff"))
    response = client.get("/visits/ledger.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.values)
    assert rows[0][0] == "探访时间" and len(rows) == 2
    assert rows[1][1] == "郑玉梅" and "*" in rows[1][2]
    assert "糖尿病" not in str(rows)
    assert sheet.cell(row=2, column=15).data_type == "s"  # text, never a formula


def test_county_changes_the_rules_and_plans_follow(world, client, auth):
    today = local_today()
    target = build_target(
        build_person(world.village_a, lives_alone=True), enrolled_on=today - timedelta(days=30)
    )
    record(target, admin(), at(today - timedelta(days=20)))
    assert target.next_due_on == today + timedelta(days=70)
    auth.login_as(world.user("county_staff"))
    form = {
        c.key: str(getattr(VisitPolicy.defaults(), c.key))
        for c in VisitPolicy.__table__.columns
        if c.key.endswith(("_days", "_age", "_level", "_hours"))
    }
    form["general_interval_days"] = "60"
    assert client.post("/visits/policy", data=form).status_code == 302
    db.session.refresh(target)
    assert target.next_due_on == today + timedelta(days=40)
    # Higher tiers are never visited less often than lower ones.
    form["key_interval_days"] = "90"
    refused = client.post("/visits/policy", data=form)
    assert refused.status_code == 422


def test_staff_assign_and_override_through_the_page(world, client, auth):
    target = build_target(build_person(world.village_a, lives_alone=True))
    auth.login_as(world.user("township_staff"))
    url = f"/visits/targets/{target.id}"
    assert client.post(url + "/tier", data={"tier": "high"}).status_code == 422
    assert (
        client.post(url + "/tier", data={"tier": "high", "reason": "独居且患病"}).status_code == 302
    )
    client.post(url + "/visitors", data={"visitor_id": world.user("visitor").id})
    db.session.refresh(target)
    assert target.tier == "high" and target.visitors == [world.user("visitor")]
