"""Roster import (.csv in UTF-8 or GB18030, .xlsx; all rows or none, with a row-by-row report)
and the masked .xlsx export."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.people.operations import find_by_id_number
from eldercare.people.roster import EXPORT_COLUMNS
from tests.builders import new_id_number
from tests.people.helpers import (
    ID_PATTERN,
    audit_entries,
    count,
    id_ending_in_x,
    invalid_ids,
    row_counts,
)

HEADER = [
    "姓名",
    "身份证号",
    "区划代码",
    "性别",
    "出生日期",
    "联系电话",
    "独居",
    "空巢",
    "经济状况",
    "户籍类型",
]
ERROR_ROW = re.compile(r"<tr><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>", re.S)


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.title = "老年人台账"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client, content: bytes, filename: str):
    return client.post(
        "/people/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def reported(response) -> list[tuple[int, str, str]]:
    page = response.get_data(as_text=True)
    assert 'id="import-errors"' in page
    table = page[page.index('id="import-errors"') :]
    return [
        (int(r), html.unescape(c), html.unescape(m).strip()) for r, c, m in ERROR_ROW.findall(table)
    ]


def good_rows(world) -> list[list]:
    return [
        [
            "王秀兰",
            new_id_number(born=date(1941, 2, 3), sex="F"),
            world.village_a.code,
            "女",
            "1941-02-03",
            "13912345678",
            "是",
            "否",
            "低保",
            "本地",
        ],
        [
            "李建国",
            new_id_number(born=date(1952, 12, 30), sex="M"),
            world.township_a.code[:9],
            "",
            "",
            "",
            "否",
            "是",
            "特困分散供养",
            "",
        ],
        ["赵桂芝", id_ending_in_x(), world.village_a.code, "", "", "", "", "", "", "外地"],
    ]


def assert_imported(world, rows):
    db.session.expire_all()
    wang = find_by_id_number(rows[0][1])
    assert wang is not None
    assert (wang.name, wang.birth_date, wang.sex) == ("王秀兰", date(1941, 2, 3), "F")
    assert wang.region_id == world.village_a.id
    assert wang.phone == "13912345678"
    assert (wang.lives_alone, wang.empty_nest) == (True, False)
    assert wang.economic_status == "dibao"
    assert wang.id_number_masked == rows[0][1][:3] + "*" * 14 + rows[0][1][-1:]
    li = find_by_id_number(rows[1][1])
    assert (li.birth_date, li.sex) == (date(1952, 12, 30), "M")
    assert li.region_id == world.township_a.id  # 9-digit township code
    assert (li.lives_alone, li.empty_nest) == (False, True)
    assert li.economic_status == "tekun_dispersed"
    zhao = find_by_id_number(rows[2][1])
    assert zhao.name == "赵桂芝"
    assert zhao.hukou_type == "non_local"
    assert zhao.economic_status == "none"


# --- successful imports ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_import_csv(client, auth, world, encoding):
    user = auth.login_as(world.user("county_staff"))
    rows = good_rows(world)
    before = count(Person)

    response = upload(client, csv_bytes([HEADER, *rows], encoding), "台账.csv")

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("/people/")
    assert count(Person) == before + 3
    assert_imported(world, rows)
    [entry] = audit_entries("person.roster_imported")
    assert entry.actor_id == user.id
    assert entry.changes["people"] == [None, 3]
    assert all(r[1] not in str(entry.changes) for r in rows)


def test_import_gb18030_keeps_rare_characters(client, auth, world):
    """GB18030 (not GBK) covers CJK extension A, used in some rural names."""
    auth.login_as(world.user("county_staff"))
    number = new_id_number()
    content = csv_bytes(
        [["姓名", "身份证号", "区划代码"], ["王䶮", number, world.village_a.code]], "gb18030"
    )
    assert upload(client, content, "roster.CSV").status_code == 302
    db.session.expire_all()
    assert find_by_id_number(number).name == "王䶮"


def test_import_xlsx(client, auth, world):
    auth.login_as(world.user("township_staff"))
    rows = good_rows(world)
    # Excel keeps dates as dates and codes typed without a quote as numbers.
    rows[0][4] = date(1941, 2, 3)
    rows[0][2] = int(world.village_a.code)
    content = xlsx_bytes([HEADER, *rows, [None] * len(HEADER)])

    response = upload(client, content, "台账.xlsx")

    assert response.status_code == 302, reported(response)
    assert_imported(world, rows)


def test_import_accepts_alternative_headers_in_any_order(client, auth, world):
    auth.login_as(world.user("county_staff"))
    number = new_id_number(sex="M")
    content = csv_bytes(
        [
            ["村(社区)代码", "公民身份号码", "备注", "姓名", "手机号"],
            [world.village_a.code, number, "随便写", "孙老汉", "13000000001"],
        ]
    )
    assert upload(client, content, "a.csv").status_code == 302
    db.session.expire_all()
    person = find_by_id_number(number)
    assert (person.name, person.phone, person.sex) == ("孙老汉", "13000000001", "M")


# --- refused imports ------------------------------------------------------------------------


def test_bad_rows_are_all_reported_and_nothing_is_written(client, auth, world):
    auth.login_as(world.user("county_staff"))
    good = good_rows(world)[0]
    bad_id = invalid_ids()["bad_check_digit"]
    rows = [
        HEADER,
        good,  # row 2
        ["错号码", bad_id, world.village_a.code, "", "", "", "", "", "", ""],  # row 3
        ["无此村", new_id_number(), "610302999201", "", "", "", "", "", "", ""],  # row 4
        ["外县人", new_id_number(), world.village_b.code, "", "", "", "", "", "", ""],  # row 5
        ["重复人", good[1], world.village_a.code, "", "", "", "", "", "", ""],  # row 6
        ["已登记", world.person_b.id_number, world.village_a.code, "", "", "", "", "", "", ""],
        ["独居错", new_id_number(), world.village_a.code, "", "", "", "也许", "", "", ""],  # 8
        ["经济错", new_id_number(), world.village_a.code, "", "", "", "", "", "富裕", ""],  # 9
        ["", new_id_number(), world.village_a.code, "", "", "", "", "", "", ""],  # row 10
        ["性别错", new_id_number(sex="F"), world.village_a.code, "男", "", "", "", "", "", ""],
        ["无代码", new_id_number(), "", "", "", "", "", "", "", ""],  # row 12
        ["电话错", new_id_number(), world.village_a.code, "", "", "打我电话", "", "", "", ""],
        [],  # row 14: blank
        [
            "生日错",
            new_id_number(born=date(1950, 3, 15)),
            world.village_a.code,
            "",
            "1950-03-16",
            "",
            "",
            "",
            "",
            "",
        ],  # row 15
    ]
    before = row_counts()

    response = upload(client, csv_bytes(rows), "roster.csv")

    assert response.status_code == 422
    errors = reported(response)
    assert {(row, column) for row, column, _ in errors} == {
        (3, "身份证号"),
        (4, "区划代码"),
        (5, "区划代码"),
        (6, "身份证号"),
        (7, "身份证号"),
        (8, "独居"),
        (9, "经济状况"),
        (10, "姓名"),
        (11, "性别"),
        (12, "区划代码"),
        (13, "联系电话"),
        (15, "出生日期"),
    }
    assert all(reason for _, _, reason in errors)
    assert [row for row, _, _ in errors] == sorted(row for row, _, _ in errors)
    duplicate = next(reason for row, _, reason in errors if row == 6)
    assert re.search(r"(?<!\d)2(?!\d)", duplicate), duplicate
    assert row_counts() == before
    assert find_by_id_number(good[1]) is None
    page = response.get_data(as_text=True)
    assert world.person_b.id_number not in page.split('id="import-errors"')[1]


def test_error_reasons_are_in_chinese_by_default(client, auth, world):
    auth.login_as(world.user("county_staff"))
    rows = [
        HEADER,
        ["甲", invalid_ids()["bad_check_digit"], world.village_a.code, "", "", "", "", "", "", ""],
    ]
    [(_row, _column, reason)] = reported(upload(client, csv_bytes(rows), "r.csv"))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reason), reason


def test_township_staff_import_only_into_their_township(client, auth, world, make_region):
    auth.login_as(world.user("township_staff"))
    make_region("610302007000", "神农镇")
    other_village = make_region("610302007201", "神农村")
    rows = [
        ["姓名", "身份证号", "区划代码"],
        ["本镇人", new_id_number(), world.village_a.code],
        ["邻镇人", new_id_number(), other_village.code],
    ]
    before = row_counts()
    response = upload(client, csv_bytes(rows), "r.csv")
    assert response.status_code == 422
    assert [(r, c) for r, c, _ in reported(response)] == [(3, "区划代码")]
    assert row_counts() == before


def test_missing_required_column_is_reported_on_row_1(client, auth, world):
    auth.login_as(world.user("county_staff"))
    rows = [["姓名", "区划代码", "独居"], ["王五", world.village_a.code, "是"]]
    before = row_counts()
    response = upload(client, csv_bytes(rows), "r.csv")
    assert response.status_code == 422
    [(row, column, reason)] = reported(response)
    assert row == 1
    assert "身份证号" in column
    assert "姓名" not in column
    assert reason
    assert row_counts() == before


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"", "empty.csv"),
        (b"\xef\xbb\xbf", "bom-only.csv"),
        (b"\n\n,,\n", "blank-lines.csv"),
        ("姓名,身份证号,区划代码\n".encode("utf-8-sig"), "header-only.csv"),
    ],
)
def test_empty_file_is_refused(client, auth, world, content, filename):
    auth.login_as(world.user("county_staff"))
    before = row_counts()
    response = upload(client, content, filename)
    assert response.status_code == 422
    errors = reported(response)
    assert len(errors) == 1 and errors[0][2]
    assert row_counts() == before


def test_empty_workbook_is_refused(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = upload(client, xlsx_bytes([]), "empty.xlsx")
    assert response.status_code == 422
    assert len(reported(response)) == 1


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"name,id\n", "roster.txt"),
        (b"\xd0\xcf\x11\xe0", "roster.xls"),
        (b"PK\x03\x04 not really a workbook", "roster.xlsx"),
        ("姓名,身份证号\n".encode("utf-16"), "utf16.csv"),
        ("姓名,身份证号,区划代码\n".encode("utf-16-le"), "utf16-no-bom.csv"),
        ("姓名,身份证号,区划代码\n王\x00五,610302195003151234,610302006201\n".encode(), "nul.csv"),
        (b"\x81\x30\xff\xff\x00", "binary.csv"),
        (b'"' + b"x" * 200_000 + b'"\n', "huge-field.csv"),
    ],
)
def test_unreadable_file_is_refused(client, auth, world, content, filename):
    auth.login_as(world.user("county_staff"))
    before = row_counts()
    response = upload(client, content, filename)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="alert alert-danger"' in page
    assert row_counts() == before


def test_no_file_is_refused(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.post("/people/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'class="alert alert-danger"' in response.get_data(as_text=True)


def test_import_row_limit(app, client, auth, world, monkeypatch):
    monkeypatch.setitem(app.config, "ROSTER_IMPORT_MAX_ROWS", 2)
    auth.login_as(world.user("county_staff"))
    rows = [["姓名", "身份证号", "区划代码"]] + [
        [f"人{i}", new_id_number(), world.village_a.code] for i in range(3)
    ]
    before = row_counts()
    response = upload(client, csv_bytes(rows), "r.csv")
    assert response.status_code == 422
    # Refused while the file is read (the third row is not even read), with the limit.
    assert "每个文件最多 2 行" in response.get_data(as_text=True)
    assert row_counts() == before


# --- export ---------------------------------------------------------------------------------


@pytest.fixture
def registry(world, make_person):
    """Living people in both counties, with phones, flags and one deceased person in A."""
    people = {
        "a_phone": make_person(
            world.village_a,
            name="钱有电话",
            phone="13812345678",
            lives_alone=True,
            economic_status="dibao",
        ),
        "a_x": make_person(world.township_a, name="孙校验X", id_number=id_ending_in_x()),
        "a_dead": make_person(world.village_a, name="周已故", death_date=date(2024, 5, 6)),
        "b_phone": make_person(world.village_b, name="吴外县", phone="13987654321"),
    }
    people["person_a"] = world.person_a
    people["person_b"] = world.person_b
    return people


def export(client, query: str = ""):
    response = client.get(f"/people/export.xlsx{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.data))
    rows = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    # The table follows the export header (title, area, who made it and when).
    return rows[next(i for i, row in enumerate(rows) if row and row[0] == "姓名") :]


def all_cells(rows) -> str:
    return "\n".join("" if v is None else str(v) for row in rows for v in row)


def all_id_numbers() -> list[str]:
    db.session.expire_all()
    return [p.id_number for p in db.session.scalars(db.select(Person))]


def test_export_is_masked_and_scoped(client, auth, world, registry):
    user = auth.login_as(world.user("county_staff"))
    rows = export(client)

    assert rows[0] == list(EXPORT_COLUMNS)
    body = rows[1:]
    assert sorted(r[0] for r in body) == sorted(["钱有电话", "孙校验X", "张秀英"])
    text = all_cells(rows)
    for number in all_id_numbers():
        assert number not in text
    assert not ID_PATTERN.search(text)
    by_name = {r[0]: dict(zip(EXPORT_COLUMNS, r, strict=True)) for r in body}
    assert by_name["钱有电话"]["身份证号"] == registry["a_phone"].id_number_masked
    assert by_name["孙校验X"]["身份证号"] == registry["a_x"].id_number_masked
    assert "13812345678" not in text
    assert by_name["钱有电话"]["联系电话"] == "138****5678"
    assert by_name["钱有电话"]["独居"] == "是"
    assert by_name["张秀英"]["独居"] == "否"
    assert by_name["张秀英"]["性别"] == "女"
    assert by_name["张秀英"]["年龄"] == world.person_a.age
    assert by_name["张秀英"]["村（社区）"] == world.village_a.name
    assert "吴外县" not in text and "李桂兰" not in text

    [entry] = audit_entries("person.exported")
    assert entry.actor_id == user.id
    assert entry.region_id == world.county_a.id


def test_export_of_township_staff_holds_only_their_township(
    client, auth, world, registry, make_region, make_person
):
    make_region("610302007000", "神农镇")
    make_person(make_region("610302007201", "神农村"), name="郑邻镇")
    auth.login_as(world.user("township_staff"))
    names = sorted(r[0] for r in export(client)[1:])
    assert names == sorted(["钱有电话", "孙校验X", "张秀英"])


def test_export_follows_the_filters(client, auth, world, registry):
    auth.login_as(world.user("county_staff"))
    assert [r[0] for r in export(client, "?flag=lives_alone")[1:]] == ["钱有电话"]
    assert [r[0] for r in export(client, "?economic_status=low_income")[1:]] == []
    with_dead = sorted(r[0] for r in export(client, "?include_deceased=1")[1:])
    assert with_dead == sorted(["钱有电话", "孙校验X", "张秀英", "周已故"])
    dead_row = next(r for r in export(client, "?include_deceased=1") if r[0] == "周已故")
    assert dead_row[-1] == "2024-05-06"


def test_export_shows_the_current_ability_level(client, auth, world, registry):
    auth.login_as(world.user("county_staff"))
    url = f"/api/v1/people/{world.person_a.id}/assessments"
    client.post(url, json={"assessed_on": "2025-03-01", "level": "severe"})
    client.post(url, json={"assessed_on": "2024-03-01", "level": "intact"})
    row = next(r for r in export(client) if r[0] == "张秀英")
    assert row[EXPORT_COLUMNS.index("能力等级")] not in ("", None)
    levels = {r[0]: r[EXPORT_COLUMNS.index("能力等级")] for r in export(client)[1:]}
    assert levels["钱有电话"] in ("", None)


def test_an_id_number_in_the_export_url_is_ignored_and_not_logged(client, auth, world, registry):
    auth.login_as(world.user("county_staff"))
    number = registry["a_phone"].id_number
    rows = export(client, f"?id_number={number}")
    assert len(rows) - 1 == len(export(client)) - 1 > 1
    [entry, _] = audit_entries("person.exported")
    assert number not in entry.note


def test_export_with_invalid_filters_is_refused(client, auth, world, registry):
    auth.login_as(world.user("county_staff"))
    assert client.get("/people/export.xlsx?min_age=-5").status_code == 422
    assert audit_entries("person.exported") == []


def test_admin_exports_everyone(client, auth, world, registry):
    auth.login_as(world.user("admin"))
    names = sorted(r[0] for r in export(client)[1:])
    assert names == sorted(["钱有电话", "孙校验X", "张秀英", "吴外县", "李桂兰"])
    assert "13987654321" not in all_cells(export(client))


def test_export_writes_formula_like_text_as_text(client, auth, world, make_person):
    auth.login_as(world.user("county_staff"))
    make_person(world.village_a, name="=HYPERLINK(1)", address="+1-2@evil")
    book = load_workbook(io.BytesIO(client.get("/people/export.xlsx").data))
    sheet = book.worksheets[0]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value == "=HYPERLINK(1)"]
    assert cells and all(c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_export_shows_age_not_birth_date(client, auth, world):
    auth.login_as(world.user("county_staff"))
    rows = export(client)
    assert "出生日期" not in rows[0] and "年龄" in rows[0]
    assert world.person_a.birth_date.isoformat() not in {str(v) for r in rows for v in r}


def test_each_imported_person_gets_its_own_audit_entry(client, auth, world):
    auth.login_as(world.user("county_staff"))
    numbers = [new_id_number(), new_id_number()]
    body = "姓名,身份证号,区划代码\n" + "".join(
        f"老人{i},{n},{world.village_a.code}\n" for i, n in enumerate(numbers)
    )
    response = client.post(
        "/people/import",
        data={"file": (io.BytesIO(body.encode()), "名册.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    created = [find_by_id_number(n) for n in numbers]
    entries = audit_entries("person.registered")
    assert sorted(e.entity_id for e in entries) == sorted(p.id for p in created)
    assert all(
        e.note == "名册.csv" and e.actor_id == world.user("county_staff").id for e in entries
    )
    assert all(numbers[0] not in str(e.changes) for e in entries)
    [summary] = audit_entries("person.roster_imported")
    assert summary.changes == {"file": [None, "名册.csv"], "people": [None, 2]}


def test_an_abolished_village_code_is_refused(client, auth, world, make_region):
    auth.login_as(world.user("county_staff"))
    old = make_region("610302006209", "撤并村")
    old.abolished_on = date(2020, 1, 1)
    db.session.flush()
    body = f"姓名,身份证号,区划代码\n老人,{new_id_number()},{old.code}\n"
    response = client.post(
        "/people/import",
        data={"file": (io.BytesIO(body.encode()), "r.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422


# --- the bulk write: rows, encryption and audit entries as the model would make them -------


def test_imported_people_are_stored_and_audited_as_one_by_one(client, auth, world):
    """The import writes people in bulk; each row still holds what Person would store (the
    ID number encrypted at rest) and each person its own entry, snapshot for snapshot."""
    from eldercare.core import audit
    from eldercare.people.operations import snapshot

    user = auth.login_as(world.user("county_staff"))
    header = [*HEADER, "死亡日期", "住址"]
    rows = [[*row, "", f"{n}号"] for n, row in enumerate(good_rows(world))]
    rows[1][HEADER.index("联系电话")] = "029-8888"
    rows[2][len(HEADER)] = "2024-05-06"  # a death date, shown in the entry as text
    response = upload(client, csv_bytes([header, *rows]), "台账.csv")
    assert response.status_code == 302, reported(response)

    db.session.expire_all()
    people = [find_by_id_number(row[1]) for row in rows]
    assert [p.id for p in people] == sorted(p.id for p in people)  # in the file's order
    assert people[2].death_date == date(2024, 5, 6)
    assert people[1].phone == "029-8888" and people[2].phone is None
    for person, row in zip(people, rows, strict=True):
        stored = db.session.execute(
            db.text("SELECT id_number, created_at, updated_at FROM person WHERE id = :id"),
            {"id": person.id},
        ).one()
        assert row[1] not in stored.id_number  # encrypted at rest...
        assert person.id_number == row[1]  # ...and read back
        assert stored.created_at is not None and stored.updated_at is not None
    [summary] = audit_entries("person.roster_imported")
    entries = audit_entries("person.registered")
    assert [e.entity_id for e in entries] == [p.id for p in people]
    for entry, person in zip(entries, people, strict=True):
        assert (entry.entity_type, entry.region_id) == ("Person", person.region_id)
        assert (entry.actor_id, entry.note) == (user.id, "台账.csv")
        expected = audit.changes_between({}, snapshot(person))
        assert list(entry.changes.items()) == list(expected.items())
    assert entries[2].changes["death_date"] == [None, "2024-05-06"]
    assert entries[2].changes["phone"] == [None, ""]
    assert summary.id < entries[0].id  # the summary comes first, as before


def test_a_bad_row_among_many_good_ones_is_named_and_nothing_is_written(client, auth, world):
    auth.login_as(world.user("county_staff"))
    rows = [["姓名", "身份证号", "区划代码", "联系电话"]] + [
        [
            f"老人{i}",
            new_id_number(born=date(1940, 1, 1 + i % 28).replace(month=1 + i // 28)),
            world.village_a.code,
            "13900000000",
        ]
        for i in range(60)
    ]
    rows[41][3] = "打我电话"  # row 42 of the sheet
    before = row_counts()

    response = upload(client, xlsx_bytes(rows), "r.xlsx")

    assert response.status_code == 422
    [(row, column, reason)] = reported(response)
    assert (row, column) == (42, "联系电话")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reason), reason
    assert row_counts() == before


def test_record_many_takes_light_records_with_their_entity_type(app, world):
    from types import SimpleNamespace

    from eldercare.core import audit

    records = [SimpleNamespace(id=world.person_a.id, region_id=world.village_a.id)]
    assert audit.record_many("person.noted", [], entity_type="Person") == 0
    written = audit.record_many(
        "person.noted",
        records,
        actor=world.user("county_staff"),
        changes=lambda r: {"n": [None, r.id]},
        entity_type="Person",
    )
    assert written == 1
    [entry] = audit_entries("person.noted")
    assert (entry.entity_type, entry.entity_id) == ("Person", world.person_a.id)
    assert (entry.region_id, entry.facility_id) == (world.village_a.id, None)
    assert entry.changes == {"n": [None, world.person_a.id]}
    assert entry.actor_name == world.user("county_staff").username


def test_export_says_what_it_is_and_names_the_whole_place(
    client, auth, wide_world, make_region, make_person
):
    """东风社区 exists in several townships: each row names its township, and the sheet
    opens with its title, area, maker and date."""
    world = wide_world
    other_dongfeng = make_region("610302006202", "东风社区")
    make_person(world.village_a2, name="经二路东风")
    make_person(other_dongfeng, name="马营东风")
    county = world.user("county_staff")
    county.display_name = "王科长"
    db.session.flush()
    auth.login_as(county)
    response = client.get("/people/export.xlsx?q=东风")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "老年人信息台账"
    assert rows[1][0].startswith("地区：") and rows[1][0].endswith("渭滨区")
    assert rows[2][0].startswith("制表人：王科长") and local_today().isoformat() in rows[2][0]
    assert rows[3][0].startswith("筛选条件：") and "东风" in rows[3][0]
    table = export(client, "?q=东风")
    head = table[0]
    place = {
        r[0]: (
            r[head.index("县（区）")],
            r[head.index("乡镇（街道）")],
            r[head.index("村（社区）")],
        )
        for r in table[1:]
    }
    assert place == {
        "经二路东风": ("渭滨区", "经二路街道", "东风社区"),
        "马营东风": ("渭滨区", "马营镇", "东风社区"),
    }
