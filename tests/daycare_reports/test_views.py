"""The report and overview pages and their .xlsx exports, as their users meet them."""

from __future__ import annotations

import io
from datetime import date, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.extensions import db
from tests.builders import build_person
from tests.daycare_reports.helpers import attend, build_center, meal
from tests.querycount import count_queries
from tests.test_i18n_pages import english_words


def previous_month() -> date:
    """The first day of last month."""
    return (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)


def _month_days(month: date) -> list[date]:
    days, day = [], month
    while day.month == month.month:
        days.append(day)
        day += timedelta(days=1)
    return days


def _open_weekdays(month: date) -> list[date]:
    return [d for d in _month_days(month) if d.weekday() < 5]


def _centers(world):
    """Two centers of township A last month: one busy (2 people on its first three weekdays,
    a subsidised lunch each day for the first of them) and one that never recorded
    attendance."""
    last_month = previous_month()
    busy = build_center(world.township_a, name="马营日间照料中心")
    idle = build_center(world.township_a, kind="happiness_home", name="东村幸福院")
    people = [build_person(world.village_a, name=n) for n in ("王秀兰", "刘玉珍")]
    for day in _open_weekdays(last_month)[:3]:
        for person in people:
            attend(busy, person, day)
        meal(busy, people[0], day, subsidised=True, price_fen=800)
    return busy, idle


def _sheet_rows(response, name: str | None = None) -> list[tuple]:
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(response.data))
    rows = list((wb[name] if name else wb.worksheets[0]).values)
    # The table follows the export header and its blank row.
    blank = next(i for i, row in enumerate(rows) if not any(row))
    return rows[blank + 1 :]


def _header_lines(response, name: str | None = None) -> list[str]:
    wb = load_workbook(io.BytesIO(response.data))
    rows = list((wb[name] if name else wb.worksheets[0]).values)
    return [row[0] for row in rows[: next(i for i, r in enumerate(rows) if not any(r))]]


def test_the_report_page_shows_the_month(world, client, auth):
    """Last month: 2 people on 3 days = 6 person-days, 3 subsidised lunches at 8 yuan."""
    last_month = previous_month()
    busy, _idle = _centers(world)
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/facilities/{busy.id}/daycare/report?month={last_month:%Y-%m}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="person-days">6<' in html and 'id="people-served">2<' in html
    assert 'id="subsidised">3<' in html and "24.00" in html
    assert f'id="open-days">{len(_open_weekdays(last_month))}<' in html
    assert 'class="chart"' in html and "data-print" in html and "js/print.js" in html


def test_a_facility_that_runs_no_day_care_has_no_report(world, client, auth):
    auth.login_as(world.user("admin"))
    assert client.get(f"/facilities/{world.facility_a.id}/daycare/report").status_code == 404
    assert client.get(f"/facilities/{world.facility_a.id}/daycare/report.xlsx").status_code == 404


def test_an_invalid_month_is_dropped_with_a_notice(world, client, auth):
    today = local_today()
    busy, _idle = _centers(world)
    auth.login_as(world.user("township_staff"))
    for bad in ("2025-13", "1999-01", (today + timedelta(days=40)).strftime("%Y-%m")):
        response = client.get(f"/facilities/{busy.id}/daycare/report?month={bad}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "alert-warning" in html and today.strftime("%Y-%m") in html


def test_the_report_xlsx_has_the_totals_and_is_audited(world, client, auth):
    last_month = previous_month()
    busy, _idle = _centers(world)
    auth.login_as(world.user("township_staff"))
    response = client.get(f"/facilities/{busy.id}/daycare/report.xlsx?month={last_month:%Y-%m}")
    summary = dict(_sheet_rows(response, "运营月报")[1:])
    assert summary["机构名称"] == "马营日间照料中心" and summary["月份"] == f"{last_month:%Y-%m}"
    assert summary["开放日数"] == len(_open_weekdays(last_month))
    assert (summary["出勤人次"], summary["服务人数（出勤或用餐，去重）"]) == (6, 2)
    assert (summary["午餐份数"], summary["补贴餐份数"], summary["补贴餐金额（元）"]) == (3, 3, 24)
    daily = _sheet_rows(response, "每日出勤与用餐")
    assert daily[0] == ("日期", "星期", "是否开放", "出勤人次", "用餐份数")
    assert len(daily) == 1 + len(_month_days(last_month)) + 1
    assert daily[-1] == ("合计", None, len(_open_weekdays(last_month)), 6, 3)
    assert sum(row[3] for row in daily[1:-1]) == 6
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "daycare.report_exported")
    )
    assert entry.facility_id == busy.id and entry.note == f"{last_month:%Y-%m}"


def _row(html: str, facility) -> str:
    return html.split(f'id="center-{facility.id}"')[1].split("</tr>")[0]


def test_the_overview_flags_the_idle_center_and_totals_add_up(world, client, auth):
    """The busy center's last attendance, early last month, is under 60 days ago."""
    last_month = previous_month()
    busy, idle = _centers(world)
    auth.login_as(world.user("county_staff"))
    url = f"/daycare/overview?month={last_month:%Y-%m}&idle_days=60"
    html = client.get(url).get_data(as_text=True)
    assert "badge bg-danger" in _row(html, idle) and "badge" not in _row(html, busy)
    assert _open_weekdays(last_month)[2].isoformat() in _row(html, busy)
    assert f'href="/facilities/{busy.id}/daycare/report?month={last_month:%Y-%m}"' in html
    assert 'id="person-days">6<' in html and 'id="centers">2<' in html
    # An idle threshold out of range is refused with a notice; the default is used.
    refused = client.get("/daycare/overview?idle_days=0").get_data(as_text=True)
    assert "alert-warning" in refused and 'name="idle_days" min="1" max="365" value="14"' in refused


def test_the_overview_xlsx_has_a_row_per_center_and_the_totals(world, client, auth):
    last_month = previous_month()
    _centers(world)
    auth.login_as(world.user("county_staff"))
    response = client.get(f"/daycare/overview.xlsx?month={last_month:%Y-%m}&idle_days=60")
    rows = _sheet_rows(response)
    assert rows[0][:3] == ("机构名称", "机构类型", "所在地区")
    body, total = rows[1:-1], rows[-1]
    assert sorted(r[0] for r in body) == ["东村幸福院", "马营日间照料中心"]
    assert total[0] == "合计"
    for column in (5, 6, 9, 10, 11):  # person-days, people, meals, subsidised, activities
        assert total[column] == sum(r[column] for r in body)
    assert (total[5], total[6], total[9], total[10]) == (6, 2, 3, 3)
    status = {r[0]: r[13] for r in body}
    assert status == {"马营日间照料中心": "运营中", "东村幸福院": "未运营"}
    assert db.session.scalar(
        sa.select(AuditLog.id).where(AuditLog.action == "daycare.overview_exported")
    )


def test_the_overview_costs_the_same_queries_for_more_centers(world, client, auth):
    last_month = previous_month()
    _centers(world)
    auth.login_as(world.user("county_staff"))
    url = f"/daycare/overview?month={last_month:%Y-%m}"
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for n in range(10):
        center = build_center(world.township_a, name=f"村级幸福院{n}", kind="happiness_home")
        attend(center, build_person(world.village_a), last_month)
    with count_queries() as many:
        html = client.get(url).get_data(as_text=True)
    assert html.count('id="center-') == 12
    assert len(many) == len(few)


def test_the_pages_are_in_chinese(world, client, auth):
    """Every string of the two pages is translated (the default language is Chinese)."""
    last_month = previous_month()
    busy, _idle = _centers(world)
    auth.login_as(world.user("county_staff"))
    for url in (
        f"/facilities/{busy.id}/daycare/report?month={last_month:%Y-%m}",
        f"/daycare/overview?month={last_month:%Y-%m}",
    ):
        html = client.get(url).get_data(as_text=True)
        assert 'lang="zh-CN"' in html
        assert not english_words(html), (url, sorted(english_words(html)))


def test_the_exports_and_prints_say_what_where_when_and_by_whom(world, client, auth):
    last_month = previous_month()
    busy, _idle = _centers(world)
    county = world.user("county_staff")
    county.display_name = "李主任"
    db.session.flush()
    auth.login_as(county)
    month = f"{last_month:%Y-%m}"
    report = client.get(f"/facilities/{busy.id}/daycare/report.xlsx?month={month}")
    for sheet in (None, "每日出勤与用餐"):
        title, area, made = _header_lines(report, sheet)[:3]
        assert title == f"马营日间照料中心运营月报（{last_month:%Y年%m月}）"
        assert area.startswith("地区：") and area.endswith("马营镇")
        assert made.startswith("制表人：李主任") and "制表时间：" in made
    overview = client.get(f"/daycare/overview.xlsx?month={month}")
    title, area, made = _header_lines(overview)[:3]
    assert title.startswith("日间照料中心运营汇总") and area.endswith("渭滨区")
    assert made.startswith("制表人：李主任")
    page = client.get(f"/facilities/{busy.id}/daycare/report?month={month}").get_data(as_text=True)
    assert 'id="print-header"' in page and "制表人：李主任" in page
    page = client.get(f"/daycare/overview?month={month}").get_data(as_text=True)
    assert 'id="print-header"' in page and "日间照料中心运营汇总" in page
