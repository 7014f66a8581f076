"""The county's star view: counts by kind and by township of the area's operating
facilities on a day and the change since the same day a year before (hand-computed), the
.xlsx with the same numbers, and a query count that does not grow with the facilities."""

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
from tests.builders import build_facility
from tests.ratings_grades.helpers import build_grade
from tests.ratings_grades.test_grades import counted

DAY = date(2025, 6, 30)
BEFORE = date(2024, 6, 30)
N = None  # not rated


@pytest.fixture
def county(wide_world):
    """County A on 2025-06-30 (a year before: 2024-06-30):

    马营镇    马营镇敬老院 township home  3★ since 2023-07-01        now 3, before 3
              甲 nursing home    2★ 2021 (ran out 2024-01-01),
                                 4★ from 2025-06-30             now 4, before not rated
    经二路街道 乙 nursing home    1★ 2022-06-30..2025-06-30      now not rated, before 1
              经二路日间照料中心 day care, never rated           not rated both
              丙 nursing home    2★ 2023-01-01, superseded by
                                 5★ from 2024-12-01             now 5, before 2
    the county 丁 nursing home   3★ from 2024-06-30             now 3, before 3
    left out: a closed five-star home in 马营镇, and 阳平养老院 (county B, five stars).
    """
    w = wide_world
    build_grade(w.facility_a, 3, date(2023, 7, 1))
    jia = build_facility(w.township_a, name="甲养老院")
    build_grade(jia, 2, date(2021, 1, 1), date(2024, 1, 1))
    build_grade(jia, 4, DAY)
    yi = build_facility(w.township_a2, name="乙养老院")
    build_grade(yi, 1, date(2022, 6, 30), DAY)
    bing = build_facility(w.township_a2, name="丙养老院")
    build_grade(bing, 2, date(2023, 1, 1))
    build_grade(bing, 5, date(2024, 12, 1))
    ding = build_facility(w.county_a, name="丁养老院")
    build_grade(ding, 3, BEFORE)
    closed = build_facility(w.township_a, name="已关闭养老院", active=False)
    build_grade(closed, 5, date(2024, 1, 1))
    build_grade(w.facility_b, 5, date(2024, 1, 1))
    return w


def levels(counts) -> dict:
    return {k: v for k, v in counts.by_level.items() if v}


def by_key(rows) -> dict:
    return {r.key: r for r in rows}


def test_counts_by_kind_and_township_and_the_change(county, app):
    admin = county.user("admin")
    ov = star_overview(county.county_a, DAY, scope_clause(Facility, admin))
    assert (ov.day, ov.before) == (DAY, BEFORE)
    assert levels(ov.total.now) == {3: 2, 4: 1, 5: 1, N: 2}
    assert levels(ov.total.before) == {1: 1, 2: 1, 3: 2, N: 2}
    assert (ov.total.now.total, ov.total.now.rated, ov.total.rated_change) == (6, 4, 0)
    assert [ov.total.change(level) for level in (1, 2, 3, 4, 5, N)] == [-1, -1, 0, 1, 1, 0]

    kinds = by_key(ov.by_kind)
    assert list(kinds) == ["nursing_home", "township_home", "day_care"]
    assert levels(kinds["nursing_home"].now) == {3: 1, 4: 1, 5: 1, N: 1}
    assert levels(kinds["nursing_home"].before) == {1: 1, 2: 1, 3: 1, N: 1}
    assert levels(kinds["township_home"].now) == levels(kinds["township_home"].before) == {3: 1}
    assert levels(kinds["day_care"].now) == levels(kinds["day_care"].before) == {N: 1}

    towns = by_key(ov.by_township)
    assert list(towns) == ["610302000000", "610302001000", "610302006000"]
    assert [towns[k].label for k in towns] == ["渭滨区", "经二路街道", "马营镇"]
    assert levels(towns["610302006000"].now) == {3: 1, 4: 1}
    assert levels(towns["610302006000"].before) == {3: 1, N: 1}
    assert levels(towns["610302001000"].now) == {5: 1, N: 2}
    assert levels(towns["610302001000"].before) == {1: 1, 2: 1, N: 1}
    assert towns["610302001000"].rated_change == -1
    assert levels(towns["610302000000"].now) == levels(towns["610302000000"].before) == {3: 1}


def test_township_staff_see_their_township(county, app):
    staff = county.user("township_staff")
    ov = star_overview(county.township_a, DAY, scope_clause(Facility, staff))
    assert levels(ov.total.now) == {3: 1, 4: 1}
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
    assert "2025-06-30" in body and "2024-06-30" in body
    assert body.count("data-figure=") == 2
    assert cells(body, "nursing_home") == {
        "1": (0, "-1"),
        "2": (0, "-1"),
        "3": (1, "±0"),
        "4": (1, "+1"),
        "5": (1, "+1"),
        "none": (1, "±0"),
    }
    assert cells(body, "610302001000")["none"] == (2, "+1")
    assert cells(body, "610302000000")["3"] == (1, "±0")  # 丁, registered at county level
    assert cells(body, "total")["3"] == (2, "±0")
    assert "阳平" not in body and "已关闭养老院" not in body


def test_year_means_its_last_day_and_today_is_the_default(client, auth, county):
    auth.login_as(county.user("admin"))
    body = client.get(
        "/ratings/overview", query_string={"region_id": county.county_a.id, "year": 2024}
    ).get_data(as_text=True)
    assert "2024-12-31" in body and "2023-12-31" in body
    # On 2024-12-31: 马营镇敬老院 3, 甲 not rated, 乙 1, 丙 5 (from 2024-12-01), 丁 3.
    assert cells(body, "total")["5"][0] == 1
    assert cells(body, "total")["none"][0] == 2
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
    sheet = load_workbook(io.BytesIO(response.data))["星级分布"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    heading = ["分组", "名称", "一星级", "二星级", "三星级", "四星级", "五星级", "未评级"]
    assert rows[0][:10] == [*heading, "合计", "已评级占比（%）"]
    with speaking("zh_Hans_CN"):
        nursing = str(KIND_LABELS[FacilityKind.NURSING_HOME])
    by_name = {(r[0], r[1]): r[2:] for r in rows[1:]}
    # Stars 1-5, not rated, total, rated share (%), then the change of each since a year before.
    town = ("乡镇（街道）", "经二路街道")
    assert by_name[("机构类型", nursing)] == [0, 0, 1, 1, 1, 1, 4, 75.0, -1, -1, 0, 1, 1, 0]
    assert by_name[town] == [0, 0, 0, 0, 1, 2, 3, 33.3, -1, -1, 0, 0, 1, 1]
    assert by_name[("合计", "渭滨区")] == [0, 0, 2, 1, 1, 2, 6, 66.7, -1, -1, 0, 1, 1, 0]
    assert len(rows) == 1 + 3 + 3 + 1  # heading, kinds, townships, total
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "rating.overview_exported")
    )
    assert entry.actor_id == staff.id and entry.region_id == county.county_a.id
    assert "2025-06-30" in entry.note


@pytest.mark.parametrize("url", ["/ratings/overview", "/ratings/overview.xlsx"])
def test_query_count_does_not_grow_with_facilities(client, auth, wide_world, url):
    auth.login_as(wide_world.user("county_staff"))

    def queries() -> int:
        with counted() as statements:
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
