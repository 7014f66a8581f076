"""Import of rooms and beds from .xlsx: all rows or none, with a row/column/reason report."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from openpyxl import Workbook

from eldercare.beds.models import Bed, Room
from eldercare.core.audit import AuditLog
from eldercare.extensions import db

HEADER = ["楼栋", "楼层", "房间号", "床号", "床位类型", "月收费(元)"]


def workbook(rows, header=HEADER) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, world, content: bytes, name: str = "beds.xlsx"):
    return client.post(
        f"/facilities/{world.facility_a.id}/beds/import?lang=en",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def beds_of(world) -> list[Bed]:
    return db.session.scalars(sa.select(Bed).where(Bed.facility_id == world.facility_a.id)).all()


GOOD = [
    ["A栋", 1, "101", "1", "护理型", 2800],
    ["A栋", 1, "101", "2", "护理型", "2800.50"],
    ["A栋", 2, "201", "1", "普通型", 1900],
    ["", 3, "301", "1", "失智照护", "4,200"],
]


def test_a_good_sheet_creates_rooms_and_beds(client, auth, world):
    auth.login_as(world.user("operator"))
    response = upload(client, world, workbook(GOOD))
    assert response.status_code == 302, response.get_data(as_text=True)
    beds = beds_of(world)
    assert len(beds) == 4
    assert sorted(b.monthly_price_fen for b in beds) == [190000, 280000, 280050, 420000]
    assert {b.care_type for b in beds} == {"nursing", "general", "dementia"}
    rooms = db.session.scalars(sa.select(Room).where(Room.facility_id == world.facility_a.id)).all()
    assert sorted((r.building, r.number, r.floor) for r in rooms) == [
        ("", "301", 3),
        ("A栋", "101", 1),
        ("A栋", "201", 2),
    ]
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(AuditLog.facility_id == world.facility_a.id)
    ).all()
    assert actions.count("bed.imported") == 1
    assert actions.count("bed.created") == 4
    board = client.get(f"/facilities/{world.facility_a.id}/beds").get_data(as_text=True)
    assert "4200.00" in board


def test_one_bad_row_imports_nothing_and_says_where(client, auth, world):
    auth.login_as(world.user("operator"))
    rows = [
        *GOOD,
        ["A栋", 1, "102", "1", "豪华型", 3000],  # row 6: unknown care type
        ["A栋", 1, "101", "1", "护理型", 2800],  # row 7: same bed as row 2
        ["A栋", 5, "201", "2", "普通型", 1900],  # row 8: room 201 is on floor 2
        ["A栋", 1, "103", "1", "护理型", "abc"],  # row 9: price
        ["A栋", "", "104", "1", "护理型", 2000],  # row 10: floor missing
    ]
    response = upload(client, world, workbook(rows))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    report = html.split('id="import-errors"')[1]
    cells = [
        tuple(c.strip() for c in row)
        for row in re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>", report)
    ]
    assert [(r, c) for r, c, _ in cells] == [
        ("6", "床位类型"),
        ("7", "床号"),
        ("8", "楼层"),
        ("9", "月收费(元)"),
        ("10", "楼层"),
    ]
    assert "Same bed as row 2" in report
    assert beds_of(world) == []
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Room)
            .where(Room.facility_id == world.facility_a.id)
        )
        == 0
    )


def test_missing_columns_and_existing_beds_are_reported(client, auth, world, make_room, make_bed):
    auth.login_as(world.user("operator"))
    response = upload(client, world, workbook([[1, "101"]], header=["楼层", "房间号"]))
    assert response.status_code == 422
    assert "床号" in response.get_data(as_text=True)
    room = make_room(world.facility_a, number="101", floor=1)
    room.building = "A栋"
    make_bed(room, label="1")
    response = upload(client, world, workbook(GOOD))
    assert response.status_code == 422
    assert "This room already has a bed with this number." in response.get_data(as_text=True)
    assert len(beds_of(world)) == 1


def test_not_an_xlsx_is_refused(client, auth, world):
    auth.login_as(world.user("operator"))
    assert upload(client, world, b"not a workbook").status_code == 422
    assert upload(client, world, b"a,b", name="beds.csv").status_code == 422
