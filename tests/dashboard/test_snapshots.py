"""Kept overviews: the same figures as computed, served while recent, recomputed when stale,
on the wrong day or of an older shape, and kept fresh by the overview-refresh job."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from eldercare.auth.models import User
from eldercare.core.db import local_today, local_zone, utcnow
from eldercare.dashboard import snapshots, tasks
from eldercare.dashboard.models import OverviewSnapshot
from eldercare.dashboard.overview import county_overview
from eldercare.extensions import db
from eldercare.regions.models import Region
from eldercare.subsidies.reports import programs_for, related_programs

IDLE_DAYS = 14


@pytest.fixture
def computed(demo):
    """Count the overviews computed (not taken from a snapshot)."""
    calls = []
    real = snapshots.county_overview

    def counting(region, *args, **kwargs):
        calls.append(region.id)
        return real(region, *args, **kwargs)

    snapshots.county_overview = counting
    yield calls
    snapshots.county_overview = real


def _snapshots(region=None) -> list[OverviewSnapshot]:
    stmt = sa.select(OverviewSnapshot).order_by(OverviewSnapshot.id)
    if region is not None:
        stmt = stmt.where(OverviewSnapshot.region_id == region.id)
    return list(db.session.scalars(stmt))


def _age(snap: OverviewSnapshot, **delta) -> None:
    snap.computed_at = snap.computed_at - timedelta(**delta)
    db.session.commit()


def test_a_kept_overview_reads_back_as_computed(app, demo):
    county, staff = demo
    today = local_today()
    ov = county_overview(county, today.replace(day=1), today, idle_days=IDLE_DAYS, user=staff)
    # Through JSON text, as the database keeps it.
    data = json.loads(json.dumps(snapshots.to_payload(ov, IDLE_DAYS, [1, 2])))
    assert data["program_ids"] == [1, 2]
    back = snapshots.from_payload(county, data)

    assert back.month == ov.month and back.day == ov.day
    assert back.computed_at == ov.computed_at
    assert back.indicators == ov.indicators
    assert back.areas == ov.areas
    assert any(a.stars for a in back.areas)  # star levels stay numbers, not JSON text keys
    assert back.facilities == ov.facilities
    assert back.stars == ov.stars and back.stars.now
    assert back.programs == ov.programs
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert [str(i.detail) for i in back.indicators] == [str(i.detail) for i in ov.indicators]
        assert str(back.indicator("nursing_share").label) == "护理型床位占比"


def test_the_page_is_served_from_the_snapshot_until_recomputed(client, auth, demo, computed):
    county, staff = demo
    auth.login_as(staff)
    first = client.get(f"/dashboard/overview?region_id={county.id}").get_data(as_text=True)
    assert computed == [county.id]
    again = client.get(f"/dashboard/overview?region_id={county.id}").get_data(as_text=True)
    assert computed == [county.id]  # not computed again
    assert "护理型床位占比" in again and "重新计算" in again
    assert first.count("data-indicator=") == again.count("data-indicator=") == 9

    snap = _snapshots(county)[0]
    before = snap.computed_at
    page = client.post(f"/dashboard/overview?region_id={county.id}")
    assert page.status_code == 302
    assert computed == [county.id, county.id]
    db.session.refresh(snap)
    assert snap.computed_at > before
    assert len(_snapshots(county)) == 1  # replaced, not added

    export = client.get(f"/dashboard/overview.xlsx?region_id={county.id}")
    assert export.status_code == 200 and computed == [county.id, county.id]


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda s: _age(s, minutes=31), id="older-than-max-age"),
        pytest.param(
            lambda s: (setattr(s, "day", s.day - timedelta(days=1)), db.session.commit()),
            id="taken-on-another-day",
        ),
        pytest.param(
            lambda s: (
                setattr(s, "payload", {**s.payload, "version": 0}),
                db.session.commit(),
            ),
            id="older-shape",
        ),
        pytest.param(
            lambda s: (setattr(s, "payload", {**s.payload, "idle_days": 7}), db.session.commit()),
            id="other-idle-days-setting",
        ),
    ],
)
def test_a_snapshot_that_does_not_fit_is_recomputed(client, auth, demo, computed, spoil):
    county, staff = demo
    auth.login_as(staff)
    client.get(f"/dashboard/overview?region_id={county.id}")
    spoil(_snapshots(county)[0])
    assert client.get(f"/dashboard/overview?region_id={county.id}").status_code == 200
    assert computed == [county.id, county.id]
    snap = _snapshots(county)[0]
    assert snap.day == local_today() and snap.payload["version"] == snapshots.PAYLOAD_VERSION


def test_who_sees_the_same_programs_shares_a_snapshot(app, demo):
    county, staff = demo
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    mine = programs_for(county, staff)
    assert mine, "the demo county pays subsidies"
    assert snapshots.programs_key(mine) == snapshots.programs_key(programs_for(county, admin))
    assert snapshots.programs_key(mine) == snapshots.programs_key(related_programs(county))
    # Fewer programs (one hidden): a snapshot of its own, with its own figures.
    month = local_today().replace(day=1)
    snapshots.overview_for(county, month, mine)
    snapshots.overview_for(county, month, mine[1:])
    keys = {s.programs for s in _snapshots(county)}
    assert keys == {snapshots.programs_key(mine), snapshots.programs_key(mine[1:])}
    assert all(len(k) == 64 for k in keys)  # a digest: a province's programs fit too
    assert {tuple(s.payload["program_ids"]) for s in _snapshots(county)} == {
        tuple(sorted(p.id for p in mine)),
        tuple(sorted(p.id for p in mine[1:])),
    }


def test_a_past_month_kept_before_it_was_over_is_recomputed(client, auth, demo, computed):
    county, staff = demo
    auth.login_as(staff)
    last_month = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    url = f"/dashboard/overview?region_id={county.id}&month={last_month:%Y-%m}"
    client.get(url)
    client.get(url)
    assert computed == [county.id]  # made after the month was over: kept
    snap = _snapshots(county)[0]
    assert snap.month == last_month and snap.day < local_today()

    # Made at 23:55 on the month's last day, asked for at 00:10 the next day: young enough,
    # on the right day, but made before the day was over.
    zone = local_zone()
    evening = datetime.combine(snap.day, time(23, 55), zone).astimezone(UTC)
    after = snap.day + timedelta(days=1)
    snap.computed_at = evening
    ten_past = datetime.combine(after, time(0, 10), zone).astimezone(UTC)
    assert not snapshots._usable(snap, snap.day, after, IDLE_DAYS, ten_past)
    snap.computed_at = datetime.combine(after, time(0, 1), zone).astimezone(UTC)
    assert snapshots._usable(snap, snap.day, after, IDLE_DAYS, ten_past)


def test_recomputing_checks_csrf_and_the_area(csrf_app, client, auth, demo, computed):
    county, staff = demo
    auth.login_as(staff)
    page = client.get(f"/dashboard/overview?region_id={county.id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.post(f"/dashboard/overview?region_id={county.id}").status_code == 400
    assert computed == [county.id]
    other = db.session.scalar(
        sa.select(Region).where(Region.level == "county", Region.id != county.id)
    )
    outside = client.post(f"/dashboard/overview?region_id={other.id}", data={"csrf_token": token})
    assert outside.status_code == 404
    assert computed == [county.id] and {s.region_id for s in _snapshots()} == {county.id}
    mine = client.post(f"/dashboard/overview?region_id={county.id}", data={"csrf_token": token})
    assert mine.status_code == 302 and computed == [county.id, county.id]


def test_the_job_keeps_counties_ready_and_what_people_open_fresh(app, demo, computed):
    county, _staff = demo
    prepared = list(
        db.session.scalars(
            sa.select(Region).where(
                Region.level.in_(["city", "county"]), Region.abolished_on.is_(None)
            )
        )
    )
    assert tasks.refresh() == len(prepared)
    assert sorted(computed) == sorted(r.id for r in prepared)
    # Just computed: not again.
    assert tasks.refresh() == 0

    township = db.session.scalar(
        sa.select(Region).where(Region.level == "township", Region.code.startswith("610302"))
    )
    month = local_today().replace(day=1)
    snapshots.overview_for(township, month, related_programs(township))
    opened = _snapshots(township)[0]
    assert opened.viewed_at is not None
    # Still fresh at the next run: left alone.
    for snap in _snapshots():
        _age(snap, minutes=10)
    computed.clear()
    assert tasks.refresh() == 0
    # It would go stale before the run after (30 min max age, 10 min runs): recomputed.
    for snap in _snapshots():
        _age(snap, minutes=10)
    assert tasks.refresh() == len(prepared) + 1
    assert township.id in computed
    # A past month someone opened is recomputed when opened again, not by the job.
    last_month = (month - timedelta(days=1)).replace(day=1)
    snapshots.overview_for(township, last_month, related_programs(township))
    db.session.commit()
    _age(_snapshots(township)[-1], minutes=25)
    computed.clear()
    tasks.refresh()
    assert township.id not in computed

    # Nobody opened it for longer than OVERVIEW_KEEP_DAYS: forgotten.
    for opened in _snapshots(township):
        opened.viewed_at = utcnow() - timedelta(days=app.config["OVERVIEW_KEEP_DAYS"], hours=1)
    db.session.commit()
    tasks.refresh()
    assert _snapshots(township) == []
    assert _snapshots(county)  # the counties stay ready


def test_two_copies_storing_the_same_overview_keep_one_row(app, demo):
    county, _staff = demo
    month = local_today().replace(day=1)
    programs = related_programs(county)
    snapshots.overview_for(county, month, programs, fresh=True)
    snapshots.overview_for(county, month, programs, fresh=True)
    assert len(_snapshots(county)) == 1


def test_recomputing_is_limited_per_account(client, auth, demo, computed):
    county, staff = demo
    auth.login_as(staff)
    url = f"/dashboard/overview?region_id={county.id}"
    assert [client.post(url).status_code for _ in range(6)] == [302] * 6
    assert client.post(url).status_code == 429
    assert len(computed) == 6
    assert client.get(url).status_code == 200  # the page itself is not limited
