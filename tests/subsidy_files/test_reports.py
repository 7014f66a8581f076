"""The subsidy report of a period: the ledger by kind and status, who is new and who
stopped (and why), back pay, the amounts of the last twelve months, and the share of
periods paid on time."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import sqlalchemy as sa
from openpyxl import load_workbook

from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from eldercare.subsidies import reconciliation, reports
from eldercare.subsidies.models import STOP_LABELS, Batch, StopReason
from tests.builders import build_region, build_user
from tests.subsidies.helpers import enrol, make_program, person_aged
from tests.subsidy_files.helpers import (
    APRIL,
    MARCH,
    all_paid,
    colleague,
    exported,
    payments_of,
    people_batch,
)
from tests.test_i18n_pages import english_words

FEBRUARY = date(2026, 2, 1)
JANUARY = date(2026, 1, 1)


def _report(world, program, period, today=date(2026, 3, 20), area=None):
    return reports.build(area or world.county_a, program, period, [program], today)


def _staff(world):
    return world.user("county_staff")


def _february_and_march(world):
    """她 (80) applies in March; 他 (86), paid since February, dies on 20 February."""
    program = make_program(world)
    her = person_aged(world, date(1944, 2, 2), name="王秀兰")
    him = person_aged(world, date(1940, 1, 1), sex="M", name="李建国")
    enrol(world, program, him, applied_on=date(2026, 2, 2))
    february = ops.generate(program, FEBRUARY, _staff(world)).batch
    assert ops.approve(february, colleague(world)).approved
    enrol(world, program, her, applied_on=date(2026, 3, 2))
    him.death_date = date(2026, 2, 20)
    db.session.flush()
    march = ops.generate(program, MARCH, _staff(world)).batch
    return program, her, him, march


def test_an_eighty_year_old_enrolled_is_new_and_the_dead_stopped(world):
    program, her, _him, _march = _february_and_march(world)
    report = _report(world, program, MARCH)
    assert [(line.name, line.amount_fen) for line in report.new] == [("王秀兰", 18000)]
    assert report.new[0].id_masked == her.id_number_masked and "*" in report.new[0].id_masked
    assert report.new_count == 1
    assert [(line.name, line.amount_fen) for line in report.stopped] == [("李建国", 18000)]
    assert report.stopped[0].reason == str(STOP_LABELS[StopReason.DEATH])
    # The job stops the enrolment for the death: the reason stays the same.
    ops.repair_departed()
    report = _report(world, program, MARCH)
    assert report.stopped[0].reason == str(STOP_LABELS[StopReason.DEATH])
    # February: he was new then.
    assert [line.name for line in _report(world, program, FEBRUARY).new] == ["李建国"]


def test_she_is_new_when_enrolled_and_stopped_with_death_when_her_death_is_recorded(world):
    program = make_program(world)
    her = person_aged(world, date(1945, 3, 15), name="张秀英")  # 80
    enrol(world, program, her, applied_on=date(2026, 3, 2))
    assert ops.approve(ops.generate(program, MARCH, _staff(world)).batch, colleague(world)).approved
    march = _report(world, program, MARCH)
    assert [(line.name, line.id_masked) for line in march.new] == [("张秀英", her.id_number_masked)]
    assert march.stopped == []
    her.death_date = date(2026, 3, 25)  # from the civil-affairs funeral data
    db.session.flush()
    ops.generate(program, APRIL, _staff(world))
    april = _report(world, program, APRIL, today=date(2026, 4, 5))
    assert april.new == []
    assert [(line.name, line.reason) for line in april.stopped] == [
        ("张秀英", str(STOP_LABELS[StopReason.DEATH]))
    ]


def test_a_suspension_and_a_move_are_reasons_too(world):
    program = make_program(world)
    away = person_aged(world, date(1944, 2, 2), name="赵桂英")
    moved = person_aged(world, date(1944, 2, 3), name="孙玉珍")
    staff = _staff(world)
    enrolments = {
        p.id: enrol(world, program, p, applied_on=date(2026, 2, 2)) for p in (away, moved)
    }
    assert ops.approve(ops.generate(program, FEBRUARY, staff).batch, colleague(world)).approved
    ops.suspend(enrolments[away.id], "out_of_contact", MARCH, "", staff)
    moved.region_id = world.village_b.id
    db.session.flush()
    ops.generate(program, MARCH, staff)
    reasons = {line.name: line.reason for line in _report(world, program, MARCH).stopped}
    assert reasons["孙玉珍"] == str(STOP_LABELS[StopReason.MOVED_OUT])
    assert "赵桂英" in reasons and reasons["赵桂英"] != reasons["孙玉珍"]


def test_the_ledger_by_kind_and_status_with_back_pay_and_a_reversal(world):
    program = make_program(world)
    staff = _staff(world)
    assert ops.approve(ops.generate(program, FEBRUARY, staff).batch, colleague(world)).approved
    late = person_aged(world, date(1944, 2, 2), name="周凤英")
    enrol(world, program, late, applied_on=date(2026, 2, 20))  # approved after February's batch
    enrol(world, program, person_aged(world, date(1934, 5, 6)), applied_on=date(2026, 3, 2))
    march = ops.generate(program, MARCH, staff).batch
    assert ops.approve(march, colleague(world)).approved
    exported(march, staff)
    assert reconciliation.import_return(march, "r.csv", all_paid(march), staff).ok
    back_pay = next(p for p in payments_of(march) if p.kind == "back_pay")
    ops.reverse(back_pay, "补发有误", staff)
    report = _report(world, program, MARCH)
    assert report.kinds == ["regular", "back_pay", "reversal"]
    assert report.ledger["regular"]["paid"] == reports.Cell(2, 18000 + 35000)
    assert report.ledger["back_pay"]["reversed"] == reports.Cell(1, 18000)
    assert report.ledger["reversal"]["recorded"] == reports.Cell(1, -18000)
    assert report.total == reports.Cell(4, 53000)
    assert [(b.name, b.period, b.amount_fen) for b in report.back_pay] == []  # reversed
    assert report.back_pay_count == 0


def test_back_pay_lines_name_the_period_and_the_reason(world):
    program = make_program(world)
    enrol(
        world,
        program,
        person_aged(world, date(1944, 2, 2), name="吴淑珍"),
        applied_on=date(2026, 3, 6),
        start_month=JANUARY,
        back_pay_reason="late_registration",
    )
    ops.generate(program, MARCH, _staff(world))
    report = _report(world, program, MARCH)
    assert [(b.name, b.period, b.amount_fen) for b in report.back_pay] == [
        ("吴淑珍", "2026-01", 18000),
        ("吴淑珍", "2026-02", 18000),
    ]
    assert report.back_pay[0].reason


def _sent_on(world, program, period, day):
    batch = people_batch(world, (), program=program, period=period)
    exported(batch, _staff(world))
    batch.exported_at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
    db.session.flush()
    return batch


def test_the_share_paid_on_time(world):
    program = make_program(world)  # paid in advance, due on the 10th of the month
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 1, 2))
    _sent_on(world, program, JANUARY, date(2026, 1, 10))  # on the due date: on time
    _sent_on(world, program, FEBRUARY, date(2026, 2, 12))  # late
    ops.generate(program, MARCH, _staff(world))  # due 10 March, still a draft on the 20th
    (line,) = _report(world, program, MARCH).punctuality
    assert (line.due, line.on_time, line.late) == (3, 1, 2)
    assert round(line.share, 3) == 0.333
    # On 5 March, March is not due yet.
    (line,) = _report(world, program, MARCH, today=date(2026, 3, 5)).punctuality
    assert (line.due, line.on_time) == (2, 1)


def test_the_amounts_of_the_last_twelve_months(world):
    program = make_program(world)
    batch = people_batch(world, (date(1944, 2, 2), date(1934, 5, 6)), program=program)
    report = _report(world, program, APRIL)
    assert report.months[0] == date(2025, 5, 1) and report.months[-1] == APRIL
    (series,) = report.series
    assert series.amounts_fen[report.months.index(MARCH)] == 53000
    assert sum(series.amounts_fen) == batch.total_fen


def test_the_page_and_its_export(world, client, auth):
    program, her, him, _march = _february_and_march(world)
    auth.login_as(_staff(world))
    page = client.get(f"/subsidies/reports?program_id={program.id}&period=2026-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="new-count">1<' in html and 'id="stopped-count">1<' in html
    assert her.id_number_masked in html and her.id_number not in html
    assert 'class="chart"' in html and "data-figure" in html
    response = client.get(f"/subsidies/reports.xlsx?program_id={program.id}&period=2026-03")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["汇总", "新增", "停发", "补发", "近12个月发放金额", "按时发放"]
    new = list(wb["新增"].values)
    assert new[1][:2] == ("王秀兰", her.id_number_masked) and new[1][3] == 180
    stopped = list(wb["停发"].values)
    assert stopped[1][0] == "李建国" and stopped[1][4] == str(STOP_LABELS[StopReason.DEATH])
    assert not any(
        her.id_number in str(v) or him.id_number in str(v)
        for sheet in wb.worksheets
        for row in sheet.values
        for v in row
    )
    assert db.session.scalar(
        sa.select(AuditLog.id).where(AuditLog.action == "subsidies.report_exported")
    )


def test_a_township_narrows_the_lists_and_other_counties_are_not_found(world, client, auth):
    program, _her, _him, _march = _february_and_march(world)
    assert _report(world, program, MARCH, area=world.township_a).new_count == 1
    other = build_region("610302001000", "经二路街道")
    assert _report(world, program, MARCH, area=other).new_count == 0
    auth.login_as(_staff(world))
    assert client.get(f"/subsidies/reports?region_id={world.county_b.id}").status_code == 404
    auth.login_as(build_user("county_staff", world.county_b))
    assert client.get(f"/subsidies/reports?program_id={program.id}").status_code == 404
    page = client.get("/subsidies/reports").get_data(as_text=True)
    assert 'id="no-program"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 2


def test_the_pages_are_in_chinese(world, client, auth):
    """Every string of the report and the bank-return pages is translated."""
    program, _her, _him, march = _february_and_march(world)
    assert ops.approve(march, colleague(world)).approved
    sent = exported(march, _staff(world))
    assert reconciliation.import_return(sent, "r.csv", all_paid(sent, "失败"), _staff(world)).ok
    auth.login_as(_staff(world))
    for url in (
        f"/subsidies/reports?program_id={program.id}&period=2026-03",
        f"/subsidies/batches/{sent.id}/bank-return?ref={payments_of(sent)[0].id}",
    ):
        html = client.get(url).get_data(as_text=True)
        assert 'lang="zh-CN"' in html
        assert not english_words(html), (url, sorted(english_words(html)))


def _figure(value) -> str:
    """A cell as text, a figure as a number (the page's 530.00 is the workbook's 530)."""
    try:
        return f"{float(str(value).replace(',', '')):.2f}"
    except ValueError:
        return str(value)


def test_the_export_carries_the_pages_table_by_kind_and_status_with_every_total(
    world, client, auth
):
    """Rows of kinds, a count and an amount per status and per kind, and the 合计 row: the
    printed .xlsx and the page read the same, cell by cell."""
    import lxml.html

    program = make_program(world)
    staff = _staff(world)
    assert ops.approve(ops.generate(program, FEBRUARY, staff).batch, colleague(world)).approved
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 2, 20))
    enrol(world, program, person_aged(world, date(1934, 5, 6)), applied_on=date(2026, 3, 2))
    march = ops.generate(program, MARCH, staff).batch
    assert ops.approve(march, colleague(world)).approved
    exported(march, staff)
    assert reconciliation.import_return(march, "r.csv", all_paid(march), staff).ok
    ops.reverse(next(p for p in payments_of(march) if p.kind == "back_pay"), "补发有误", staff)
    db.session.commit()
    auth.login_as(staff)
    query = f"program_id={program.id}&period=2026-03"

    table = lxml.html.fromstring(client.get(f"/subsidies/reports?{query}").data).get_element_by_id(
        "ledger"
    )
    kind, *statuses = [th.text_content().strip() for th in table.xpath(".//thead//th")]
    page = []
    for tr in table.xpath(".//tbody/tr|.//tfoot/tr"):
        label, *cells = tr.xpath("./td")
        row = [label.text_content().strip()]
        for td in cells:
            parts = [t.strip() for t in td.itertext() if t.strip()]
            row.extend(parts if len(parts) == 2 else ["—", "—"])
        page.append(row)
    assert len(page) == 4 and len(statuses) == 4  # 3 kinds + 合计; 3 statuses + 合计

    response = client.get(f"/subsidies/reports.xlsx?{query}")
    rows = [
        ["" if v is None else _figure(v) for v in row]
        for row in load_workbook(io.BytesIO(response.data))["汇总"].values
    ]
    start = next(i for i, row in enumerate(rows) if row and row[0] == kind)
    header, subheader, *body = rows[start : start + 2 + len(page)]
    assert [h for h in header[1:] if h] == [*statuses[:-1], "合计"]
    assert subheader[1:] == ["笔数", "金额（元）"] * len(statuses)
    page[-1][0] = "合计"
    page = [[_figure(v) for v in row] for row in page]
    assert [row[: 1 + 2 * len(statuses)] for row in body] == page
