"""The county overview: each figure recomputed here, independently, in plain Python over the
operational tables of the demo data, must match what the page shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from eldercare.beds.models import Bed, Outage, Stay
from eldercare.core.db import local_today, local_zone
from eldercare.dashboard.overview import county_overview
from eldercare.daycare.models import DAYCARE_KINDS, Attendance
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.ratings.models import Grade
from eldercare.ratings.operations import rateable_kinds
from eldercare.regions.models import Region
from eldercare.subsidies.models import Batch, Payment
from eldercare.visits.models import CareTarget, Visit

IDLE_DAYS = 14


def _under(region: Region, code: str) -> bool:
    return code.startswith(region.prefix)


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def recompute_beds(region: Region, day: date):
    facilities = [
        f
        for f in db.session.scalars(sa.select(Facility).where(Facility.active.is_(True)))
        if _under(region, f.region.code)
    ]
    ids = {f.id for f in facilities}
    stays = [s for s in db.session.scalars(sa.select(Stay)) if s.facility_id in ids]
    outages = list(db.session.scalars(sa.select(Outage)))
    beds = []
    for bed in db.session.scalars(sa.select(Bed)):
        if bed.facility_id not in ids:
            continue
        existed = bed.created_at.astimezone(UTC).date() <= day or any(
            s.bed_id == bed.id and s.admitted_on <= day for s in stays
        )
        if existed:
            beds.append(bed)
    nursing = sum(1 for b in beds if b.care_type == "nursing")
    in_service = [
        b
        for b in beds
        if not any(
            o.bed_id == b.id and o.start_on <= day and (o.end_on is None or o.end_on > day)
            for o in outages
        )
    ]
    occupied = sum(
        1
        for s in stays
        if s.admitted_on <= day and (s.discharged_on is None or s.discharged_on > day)
    )
    elderly = sum(
        1
        for p in db.session.scalars(sa.select(Person))
        if _under(region, p.region.code)
        and _age_on(p.birth_date, day) >= 60
        and (p.death_date is None or p.death_date > day)
    )
    return len(beds), nursing, len(in_service), occupied, elderly


def recompute_visit_rate(region: Region, month: date):
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    start = datetime.combine(first, time.min, tzinfo=local_zone())
    end = datetime.combine(nxt, time.min, tzinfo=local_zone())
    targets = [
        t
        for t in db.session.scalars(sa.select(CareTarget))
        if _under(region, t.person.region.code)
        and t.enrolled_on < nxt
        and (t.ended_on is None or t.ended_on >= first)
    ]
    visits = list(db.session.scalars(sa.select(Visit)))
    visited = sum(
        1
        for t in targets
        if any(v.target_id == t.id and start <= v.visited_at < end for v in visits)
    )
    return visited, len(targets)


def recompute_rated(region: Region, day: date):
    facilities = [
        f
        for f in db.session.scalars(sa.select(Facility).where(Facility.active.is_(True)))
        # Only the kinds a shipped rating scheme can rate are counted.
        if _under(region, f.region.code) and f.kind in rateable_kinds()
    ]
    grades = list(db.session.scalars(sa.select(Grade)))
    rated = sum(
        1
        for f in facilities
        if any(g.facility_id == f.id and g.valid_from <= day < g.valid_until for g in grades)
    )
    return rated, len(facilities)


def recompute_operating(region: Region, day: date):
    centers = [
        f
        for f in db.session.scalars(sa.select(Facility).where(Facility.active.is_(True)))
        if f.kind in DAYCARE_KINDS and _under(region, f.region.code)
    ]
    since = day - timedelta(days=IDLE_DAYS - 1)
    days = {}
    for a in db.session.scalars(sa.select(Attendance)):
        if a.day <= day:
            days[a.facility_id] = max(days.get(a.facility_id, a.day), a.day)
    operating = sum(1 for c in centers if c.id in days and days[c.id] >= since)
    return operating, len(centers)


def recompute_paid_out(region: Region, month: date):
    batches = {b.id: b for b in db.session.scalars(sa.select(Batch)) if b.period == month}
    total = 0
    for p in db.session.scalars(sa.select(Payment)):
        if (
            p.batch_id in batches
            and p.status in ("approved", "exported", "paid")
            and _under(region, db.session.get(Region, p.region_id).code)
        ):
            total += p.amount_fen
    return total


def test_every_indicator_matches_an_independent_recomputation(demo):
    county, staff = demo
    today = local_today()
    month = today.replace(day=1)
    ov = county_overview(county, month, today, idle_days=IDLE_DAYS, user=staff)
    assert ov.day == today

    beds, nursing, in_service, occupied, elderly = recompute_beds(county, today)
    assert beds > 0 and elderly > 0
    assert ov.indicator("nursing_share").value == pytest.approx(nursing / beds)
    assert ov.indicator("beds_per_1000").value == pytest.approx(beds * 1000 / elderly)
    assert ov.indicator("occupancy").value == pytest.approx(occupied / in_service)

    visited, targets = recompute_visit_rate(county, month)
    assert targets > 0
    assert ov.indicator("visit_rate").value == pytest.approx(visited / targets)

    rated, facilities = recompute_rated(county, today)
    assert ov.indicator("rated_share").value == pytest.approx(rated / facilities)

    operating, centers = recompute_operating(county, today)
    assert centers > 0
    assert ov.indicator("daycare_operating").value == pytest.approx(operating / centers)

    assert ov.indicator("subsidy_amount").value == recompute_paid_out(county, month)

    # The drill-down adds up to the county (facilities on the county itself aside).
    assert sum(a.beds for a in ov.areas) <= beds
    assert sum(a.visit_targets for a in ov.areas) == targets


def test_a_past_month_is_taken_on_its_last_day(demo):
    county, staff = demo
    today = local_today()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    ov = county_overview(county, last_month, today, idle_days=IDLE_DAYS, user=staff)
    end = today.replace(day=1) - timedelta(days=1)
    assert ov.day == end
    beds, nursing, *_ = recompute_beds(county, end)
    assert ov.indicator("nursing_share").value == pytest.approx(nursing / beds)
    assert len(ov.indicator("nursing_share").trend) == 12
    assert ov.indicator("nursing_share").trend[-1].month == last_month
    # The demo's batch of last month is approved: its payments are what was paid out.
    paid = recompute_paid_out(county, last_month)
    assert paid > 0
    assert ov.indicator("subsidy_amount").value == paid
    assert sum(p.fen for p in ov.programs) == paid
    assert sum(a.subsidy_fen for a in ov.areas) == paid


def test_the_page_drills_down_and_exports(client, auth, demo):
    county, staff = demo
    auth.login_as(staff)
    page = client.get(f"/dashboard/overview?region_id={county.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "护理型床位占比" in html and "月探访率" in html
    township = db.session.scalar(
        sa.select(Region).where(Region.code.startswith("610302006"), Region.level == "township")
    )
    assert f"region_id={township.id}" in html
    assert client.get(f"/dashboard/overview?region_id={township.id}").status_code == 200
    export = client.get(f"/dashboard/overview.xlsx?region_id={county.id}")
    assert export.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    book = load_workbook(BytesIO(export.data))
    assert book.sheetnames == ["指标", "分区", "机构", "补贴"]
    printable = client.get(f"/dashboard/overview?region_id={county.id}&print=1")
    assert "window.print()" in printable.get_data(as_text=True)


def test_a_city_rolls_its_counties_up(demo):
    county, _staff = demo
    from eldercare.auth.models import User as Account

    admin = db.session.scalar(sa.select(Account).where(Account.username == "admin"))
    city = county.parent
    today = local_today()
    ov = county_overview(city, today.replace(day=1), today, idle_days=IDLE_DAYS, user=admin)
    beds, nursing, *_ = recompute_beds(city, today)
    assert ov.indicator("nursing_share").value == pytest.approx(nursing / beds)
    by_name = {a.name: a for a in ov.areas}
    assert by_name[county.name].beds == recompute_beds(county, today)[0]
    assert sum(a.visit_targets for a in ov.areas) == recompute_visit_rate(city, today)[1]
