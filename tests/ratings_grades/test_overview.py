"""The county's star view: counts by kind and by township of the area's operating
facilities on a day and the change since the county's previous round (hand-computed), a
chosen round against the one before it, the same day a year before for an area of several
counties, the .xlsx with the same numbers, and a query count that does not grow with the
facilities."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.core.i18n import speaking
from eldercare.core.permissions import scope_clause
from eldercare.extensions import db
from eldercare.facilities.models import KIND_LABELS, Facility, FacilityKind
from eldercare.ratings.distribution import star_overview, year_before
from tests.builders import build_facility, build_region
from tests.querycount import count_queries
from tests.ratings_grades.helpers import build_grade, build_round

DAY = date(2025, 6, 30)
YEAR_BEFORE = date(2024, 6, 30)
N = None  # not rated


@pytest.fixture
def county(wide_world):
    """County A's rounds, each published over some days (a grade runs from its day):

    2021 round  2021-01-01           甲 nursing home (马营镇)     2★ until 2024-01-01
    2023 round  2023-01-01..07-01    丙 nursing home (经二路)     2★
                                     马营镇敬老院 township home   3★
    2024 round  2024-01-01..12-01    a closed home (马营镇)       5★  (not operating: left out)
                                     丁 nursing home (the county) 3★ from 2024-06-30
                                     丙                           5★ from 2024-12-01
    2025 round  2025-06-30           甲                           4★
    乙 nursing home (经二路): 1★ 2022-06-30..2025-06-30, in a 2022 round of its own.
    经二路日间照料中心 (day care): no scheme rates it, so it is not counted at all.
    County B: 阳平养老院 5★ from 2024-01-01.

    On 2025-06-30 the current round is 2025's; the previous one is 2024's, published by
    2024-12-01:   马营镇敬老院 3 → 3, 甲 – → 4, 乙 1 → –, 丙 5 → 5, 丁 3 → 3.
    """
    w = wide_world
    r2021 = build_round(w.county_a, 2021, "2021年度评定")
    r2023 = build_round(w.county_a, 2023, "2023年度评定")
    r2024 = build_round(w.county_a, 2024, "2024年度评定")
    r2025 = build_round(w.county_a, 2025, "2025年度评定")
    jia = build_facility(w.township_a, name="甲养老院")
    build_grade(jia, 2, date(2021, 1, 1), date(2024, 1, 1), round_=r2021)
    bing = build_facility(w.township_a2, name="丙养老院")
    build_grade(bing, 2, date(2023, 1, 1), round_=r2023)
    build_grade(w.facility_a, 3, date(2023, 7, 1), round_=r2023)
    closed = build_facility(w.township_a, name="已关闭养老院", active=False)
    build_grade(closed, 5, date(2024, 1, 1), round_=r2024)
    ding = build_facility(w.county_a, name="丁养老院")
    build_grade(ding, 3, YEAR_BEFORE, round_=r2024)
    build_grade(bing, 5, date(2024, 12, 1), round_=r2024)
    build_grade(jia, 4, DAY, round_=r2025)
    yi = build_facility(w.township_a2, name="乙养老院")
    build_grade(yi, 1, date(2022, 6, 30), DAY, round_name="2022年度评定")
    build_grade(w.facility_b, 5, date(2024, 1, 1))
    w.rounds = {2021: r2021, 2023: r2023, 2024: r2024, 2025: r2025}
    return w


def levels(counts) -> dict:
    return {k: v for k, v in counts.by_level.items() if v}


def by_key(rows) -> dict:
    return {r.key: r for r in rows}


def test_counts_by_kind_and_township_and_the_change_since_the_previous_round(county, app):
    admin = county.user("admin")
    ov = star_overview(county.county_a, DAY, scope_clause(Facility, admin))
    assert (ov.basis, ov.current.name, ov.previous.name) == (
        "round",
        "2025年度评定",
        "2024年度评定",
    )
    assert (ov.day, ov.before) == (DAY, date(2024, 12, 1))
    assert levels(ov.total.now) == {3: 2, 4: 1, 5: 1, N: 1}
    assert levels(ov.total.before) == {1: 1, 3: 2, 5: 1, N: 1}
    assert (ov.total.now.total, ov.total.now.rated, ov.total.rated_change) == (5, 4, 0)
    assert [ov.total.change(level) for level in (1, 2, 3, 4, 5, N)] == [-1, 0, 0, 1, 0, 0]

    kinds = by_key(ov.by_kind)
    assert list(kinds) == ["nursing_home", "township_home"]
    assert levels(kinds["nursing_home"].now) == {3: 1, 4: 1, 5: 1, N: 1}
    assert levels(kinds["nursing_home"].before) == {1: 1, 3: 1, 5: 1, N: 1}
    assert levels(kinds["township_home"].now) == levels(kinds["township_home"].before) == {3: 1}

    towns = by_key(ov.by_township)
    assert list(towns) == ["610302000000", "610302001000", "610302006000"]
    assert [towns[k].label for k in towns] == ["渭滨区", "经二路街道", "马营镇"]
    assert levels(towns["610302006000"].now) == {3: 1, 4: 1}
    assert levels(towns["610302006000"].before) == {3: 1, N: 1}
    assert levels(towns["610302001000"].now) == {5: 1, N: 1}
    assert levels(towns["610302001000"].before) == {1: 1, 5: 1}
    assert towns["610302001000"].rated_change == -1
    assert levels(towns["610302000000"].now) == levels(towns["610302000000"].before) == {3: 1}


def test_a_chosen_round_against_the_round_before_it(county, app):
    """The 2024 round, once published (2024-12-01), against the 2023 round (by 2023-07-01):
    马营镇敬老院 3 → 3, 甲 2 → –, 乙 1 → 1, 丙 2 → 5, 丁 – → 3, day care – → –."""
    staff = county.user("county_staff")
    ov = star_overview(county.county_a, DAY, scope_clause(Facility, staff), county.rounds[2024])
    assert (ov.current.name, ov.previous.name) == ("2024年度评定", "2023年度评定")
    assert (ov.day, ov.before) == (date(2024, 12, 1), date(2023, 7, 1))
    assert levels(ov.total.before) == {1: 1, 2: 2, 3: 1, N: 1}
    assert levels(ov.total.now) == {1: 1, 3: 2, 5: 1, N: 1}
    assert [ov.total.change(level) for level in (1, 2, 3, 4, 5, N)] == [0, -2, 1, 0, 1, 0]


def test_the_first_round_has_nothing_to_compare_with(county, app):
    staff = county.user("county_staff")
    ov = star_overview(county.county_a, DAY, scope_clause(Facility, staff), county.rounds[2021])
    assert ov.current.name == "2021年度评定" and ov.previous is None
    assert not ov.compared and ov.before is None
    assert ov.day == date(2021, 1, 1)
    assert levels(ov.total.now) == {2: 1, N: 4}


def test_a_round_not_published_yet_is_compared_with_the_last_one_published(county, app):
    later = build_round(county.county_a, 2026, "2026年度评定")
    staff = county.user("county_staff")
    ov = star_overview(county.county_a, DAY, scope_clause(Facility, staff), later)
    assert ov.current.name == "2026年度评定" and ov.current.first is None
    assert ov.day == DAY  # nothing of it published: the day asked for
    assert (ov.previous.name, ov.before) == ("2025年度评定", DAY)
    assert [ov.total.change(level) for level in (1, 2, 3, 4, 5, N)] == [0] * 6


def test_an_area_of_several_counties_compares_with_a_year_before(county, app):
    city = build_region("610300000000")
    ov = star_overview(city, DAY, scope_clause(Facility, county.user("admin")))
    assert (ov.basis, ov.before, ov.current, ov.rounds) == ("year", YEAR_BEFORE, None, [])
    # County A as above but on 2024-06-30 (甲 –, 乙 1, 丙 2, 丁 3, 马营镇敬老院 3) and
    # county B's 阳平养老院 5 on both days.
    assert levels(ov.total.before) == {1: 1, 2: 1, 3: 2, 5: 1, N: 1}
    assert levels(ov.total.now) == {3: 2, 4: 1, 5: 2, N: 1}


def test_a_kind_no_scheme_rates_is_not_counted(county, app):
    """The day-care center (no shipped scheme rates it) is in no count, not even as 'not
    rated': the rated share is of what can be rated."""
    ov = star_overview(county.county_a, DAY, scope_clause(Facility, county.user("admin")))
    assert "day_care" not in ov.kinds_counted and "nursing_home" in ov.kinds_counted
    assert "day_care" not in {r.key for r in ov.by_kind}
    assert ov.total.now.rated_share == 4 / 5
    daycare = build_facility(county.township_a, name="又一日间照料中心", kind="day_care")
    build_grade(daycare, 3, date(2025, 1, 1))  # even a stray grade: not counted
    again = star_overview(county.county_a, DAY, scope_clause(Facility, county.user("admin")))
    assert (again.total.now.total, again.total.now.rated) == (5, 4)


def test_township_staff_see_their_township(county, app):
    staff = county.user("township_staff")
    ov = star_overview(county.township_a, DAY, scope_clause(Facility, staff))
    assert levels(ov.total.now) == {3: 1, 4: 1}
    assert levels(ov.total.before) == {3: 1, N: 1}
    assert ov.previous.name == "2024年度评定"  # the rounds of the township's county
    assert [r.key for r in ov.by_township] == ["610302006000"]


def test_year_before():
    assert year_before(date(2025, 6, 30)) == date(2024, 6, 30)
    assert year_before(date(2024, 2, 29)) == date(2023, 2, 28)


def cells(body: str, key: str) -> dict:
    """{level: (count, change)} of the table row ``key``."""
    row = body.split(f'data-key="{key}"')[1].split("</tr>")[0]
    found = re.findall(
        r'data-level="(\w+)"><span class="count">(\d+)</span> <span[^>]*>\(([^)]*)\)', row
    )
    return {level: (int(n), change) for level, n, change in found}


def test_the_page(client, auth, county):
    auth.login_as(county.user("county_staff"))
    response = client.get("/ratings/overview", query_string={"day": DAY.isoformat()})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    basis = body.split('id="basis"')[1].split("</p>")[0]
    assert "2025-06-30" in basis and "2024年度评定" in basis and "2024-12-01" in basis
    assert "2025年度评定" in basis
    assert body.count("data-figure=") == 2
    assert cells(body, "nursing_home") == {
        "1": (0, "-1"),
        "2": (0, "±0"),
        "3": (1, "±0"),
        "4": (1, "+1"),
        "5": (1, "±0"),
        "none": (1, "±0"),
    }
    assert cells(body, "610302001000")["none"] == (1, "+1")
    assert cells(body, "610302000000")["3"] == (1, "±0")  # 丁, registered at county level
    assert cells(body, "total")["3"] == (2, "±0")
    assert "阳平" not in body and "已关闭养老院" not in body
    # The rounds of the county to choose from, newest first.
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<(]+)', body.split('id="f-round"')[1])
    assert [name.strip() for _id, name in options] == [
        "2025年度评定",
        "2024年度评定",
        "2023年度评定",
        "2022年度评定",
        "2021年度评定",
    ]


def test_choosing_a_round_on_the_page(client, auth, county):
    auth.login_as(county.user("county_staff"))
    body = client.get(
        "/ratings/overview", query_string={"round_id": county.rounds[2024].id}
    ).get_data(as_text=True)
    assert "· 2024-12-01</h1>" in body
    assert cells(body, "total")["2"] == (0, "-2")
    first = client.get(
        "/ratings/overview", query_string={"round_id": county.rounds[2021].id}
    ).get_data(as_text=True)
    assert cells(first, "total") == {}  # no change shown: nothing to compare with
    assert 'data-level="2"><span class="count">1</span>' in first


def test_a_round_out_of_scope_is_not_found_and_another_countys_is_ignored(client, auth, county):
    other = build_round(county.county_b, 2025, "陈仓区2025年度评定")
    auth.login_as(county.user("county_staff"))
    assert client.get("/ratings/overview", query_string={"round_id": other.id}).status_code == 404
    auth.login_as(county.user("admin"))
    body = client.get(
        "/ratings/overview",
        query_string={"region_id": county.county_a.id, "round_id": other.id, "day": DAY},
    ).get_data(as_text=True)
    assert "alert-warning" in body and "2025年度评定" in body.split('id="basis"')[1]


def test_year_means_its_last_day_and_today_is_the_default(client, auth, county):
    auth.login_as(county.user("admin"))
    body = client.get(
        "/ratings/overview", query_string={"region_id": county.county_a.id, "year": 2024}
    ).get_data(as_text=True)
    assert "2024-12-31" in body
    # On 2024-12-31 the current round is 2024's, against 2023's (by 2023-07-01):
    # 马营镇敬老院 3, 甲 not rated, 乙 1, 丙 5 (from 2024-12-01), 丁 3.
    assert "2023-07-01" in body.split('id="basis"')[1]
    assert cells(body, "total")["5"] == (1, "+1")
    assert cells(body, "total")["none"][0] == 1
    ahead = client.get("/ratings/overview", query_string={"year": 2999}).get_data(as_text=True)
    assert "alert-warning" in ahead and local_today().isoformat() in ahead
    plain = client.get("/ratings/overview").get_data(as_text=True)
    assert f"· {local_today().isoformat()}</h1>" in plain


def test_the_xlsx_has_the_same_numbers_and_is_audited(client, auth, county):
    staff = auth.login_as(county.user("county_staff"))
    response = client.get(
        "/ratings/overview.xlsx",
        query_string={"region_id": county.county_a.id, "day": DAY.isoformat()},
    )
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.data))
    rows = [list(r) for r in workbook["星级分布"].iter_rows(values_only=True)]
    heading = ["分组", "名称", "一星级", "二星级", "三星级", "四星级", "五星级", "未评级"]
    assert rows[0][:10] == [*heading, "合计", "已评级占比（%）"]
    assert rows[0][10] == "一星级较上一轮"
    with speaking("zh_Hans_CN"):
        nursing = str(KIND_LABELS[FacilityKind.NURSING_HOME])
    by_name = {(r[0], r[1]): r[2:] for r in rows[1:]}
    # Stars 1-5, not rated, total, rated share (%), then the change of each since the
    # previous round.
    town = ("乡镇（街道）", "经二路街道")
    assert by_name[("机构类型", nursing)] == [0, 0, 1, 1, 1, 1, 4, 75.0, -1, 0, 0, 1, 0, 0]
    assert by_name[town] == [0, 0, 0, 0, 1, 1, 2, 50.0, -1, 0, 0, 0, 0, 1]
    assert by_name[("合计", "渭滨区")] == [0, 0, 2, 1, 1, 1, 5, 80.0, -1, 0, 0, 1, 0, 0]
    # heading, kinds (the day-care center is of no kind a scheme rates), townships, total
    assert len(rows) == 1 + 2 + 3 + 1
    about = dict(workbook["说明"].iter_rows(values_only=True))
    assert about["当前评定轮次"] == "2025年度评定"
    assert about["对比基准（上一轮评定）"] == "2024年度评定（2024-12-01公布）"
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "rating.overview_exported")
    )
    assert entry.actor_id == staff.id and entry.region_id == county.county_a.id
    assert "2025-06-30" in entry.note and "2024-12-01" in entry.note


def test_the_xlsx_of_a_first_round_leaves_the_change_empty(client, auth, county):
    auth.login_as(county.user("county_staff"))
    response = client.get(
        "/ratings/overview.xlsx", query_string={"round_id": county.rounds[2021].id}
    )
    workbook = load_workbook(io.BytesIO(response.data))
    total = next(r for r in workbook["星级分布"].iter_rows(values_only=True) if r[0] == "合计")
    assert list(total[10:]) == [None] * 6
    assert "无" in dict(workbook["说明"].iter_rows(values_only=True))["对比基准"]


@pytest.mark.parametrize("url", ["/ratings/overview", "/ratings/overview.xlsx"])
def test_query_count_does_not_grow_with_facilities(client, auth, wide_world, url):
    auth.login_as(wide_world.user("county_staff"))

    def queries() -> int:
        with count_queries() as statements:
            response = client.get(url, query_string={"day": DAY.isoformat()})
        assert response.status_code == 200
        return len(statements)

    def facilities(n: int) -> None:
        for i in range(n):
            town = wide_world.township_a if i % 2 else wide_world.township_a2
            facility = build_facility(town, kind=("nursing_home", "day_care")[i % 2])
            build_grade(facility, i % 5 + 1, date(2023, 1, 1))
            build_grade(facility, 5 - i % 5, date(2024, 1, 1))

    facilities(3)
    few = queries()
    facilities(27)
    assert queries() == few
