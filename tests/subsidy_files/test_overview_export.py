"""The county overview's subsidy table, on the page and in its .xlsx, for a month with
payments: the number of payments and the amount of each program, the same in both."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook

from tests.subsidy_files.helpers import MARCH, people_batch


def test_the_overview_export_of_a_month_with_payments_matches_the_page(client, auth, world):
    batch = people_batch(world, births=(date(1944, 2, 2), date(1930, 5, 5), date(1958, 1, 1)))
    auth.login_as(world.user("county_staff"))
    query = f"region_id={world.county_a.id}&month={MARCH:%Y-%m}"

    page = client.get(f"/dashboard/overview?{query}")
    assert page.status_code == 200
    table = page.get_data(as_text=True).split('id="programs"', 1)[1].split("</table>", 1)[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", table)]
    assert cells == [batch.program.name, "3", f"{batch.total_fen / 100:,.2f}"]

    export = client.get(f"/dashboard/overview.xlsx?{query}")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data))["补贴"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1:] == [[batch.program.name, 3, batch.total_fen / 100]]
    assert batch.payment_count == 3
