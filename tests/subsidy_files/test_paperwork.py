"""Every subsidy paper that is filed or signed says what it is, for which area, when and by
whom it was made, and has lines to sign where it is signed: the batch's roster (发放花名册),
the public notice (公示), the report and the bank file's paperwork sheet."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from tests.subsidies.helpers import enrol, make_program, person_aged
from tests.subsidy_files.helpers import MARCH, colleague, payments_of, people_batch


def test_the_roster_of_a_batch_has_its_title_area_maker_total_and_signatures(world, client, auth):
    batch = people_batch(world, births=(date(1944, 2, 2), date(1930, 5, 5)))
    staff = world.user("county_staff")
    auth.login_as(staff)
    page = client.get(f"/subsidies/batches/{batch.id}/roster").get_data(as_text=True)
    assert f"{batch.program.name} 发放花名册（2026-03）" in page
    assert f"地区：{world.county_a.name}" in page
    assert f"制表人：{staff.display_name}" in page
    assert "审核人" in page and "负责人" in page and "单位（盖章）" in page
    assert page.count('class="id-masked"') >= 4  # ID and account numbers masked
    total = sum(p.amount_fen for p in payments_of(batch))
    assert f'id="roster-total">{total / 100:,.2f}' in page
    assert f"/subsidies/batches/{batch.id}/roster" in client.get(
        f"/subsidies/batches/{batch.id}"
    ).get_data(as_text=True)


def test_the_public_notice_has_its_maker_and_a_seal_line(world, client, auth):
    program = make_program(world)
    staff = world.user("county_staff")
    auth.login_as(staff)
    page = client.get(f"/subsidies/programs/{program.id}/notice").get_data(as_text=True)
    assert f"{program.name}" in page and f"地区：{world.county_a.name}" in page
    assert f"制表人：{staff.display_name}" in page
    assert "公示单位（盖章）" in page


def test_the_report_export_and_page_name_area_time_and_maker(world, client, auth):
    batch = people_batch(world)
    staff = world.user("county_staff")
    auth.login_as(staff)
    query = f"region_id={world.county_a.id}&program_id={batch.program_id}&period=2026-03"
    page = client.get(f"/subsidies/reports?{query}").get_data(as_text=True)
    assert f"制表人：{staff.display_name}" in page
    export = client.get(f"/subsidies/reports.xlsx?{query}")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data))["汇总"]
    rows = {r[0]: r[1:] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert f"{world.county_a.name} {batch.program.name} 2026-03 补贴发放报表" in rows
    assert rows["制表人"][0] == staff.display_name
    assert rows["制表时间"][0]


def test_the_bank_file_keeps_its_sheet_and_adds_the_paperwork(world, client, auth):
    program = make_program(world)
    enrol(world, program, person_aged(world, date(1944, 2, 2)), applied_on=date(2026, 3, 2))
    from eldercare.subsidies import operations as ops

    batch = ops.generate(program, MARCH, world.user("county_staff")).batch
    checker = colleague(world)
    assert ops.approve(batch, checker).approved
    auth.login_as(world.user("county_staff"))
    export = client.get(f"/subsidies/batches/{batch.id}/bank-file.xlsx")
    assert export.status_code == 200, export.status_code
    book = load_workbook(io.BytesIO(export.data))
    assert book.worksheets[0].cell(1, 1).value == "业务参考号"  # the bank's sheet as it was
    cover = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True) if r and r[0]}
    assert cover["地区"] == world.county_a.name
    assert cover["制表人"] == world.user("county_staff").display_name
    assert cover["审核人"] == checker.display_name
    assert "单位（盖章）" in cover and cover["笔数"] == 1
