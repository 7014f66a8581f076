"""Region codes, the all-or-nothing CSV import, the `flask regions import` command, and
browsing inside one's own region."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.commands import BAOJI_CSV
from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from eldercare.regions.models import Level, Region, level_of_code, parent_code_of
from eldercare.regions.operations import RegionImportError, import_regions_csv

HEADER = "code,name,level,parent_code,abolished_on,successor_code\n"


def region(code: str) -> Region | None:
    return db.session.scalar(sa.select(Region).where(Region.code == code))


def region_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Region))


# --- codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("610000000000", Level.PROVINCE, None),
        ("610300000000", Level.CITY, "610000000000"),
        ("610302000000", Level.COUNTY, "610300000000"),
        ("610302006000", Level.TOWNSHIP, "610302000000"),
        ("610302006201", Level.VILLAGE, "610302006000"),
        ("110101001001", Level.VILLAGE, "110101001000"),  # 北京 东城区: a municipality
        ("429004000000", Level.COUNTY, "429000000000"),  # 仙桃: province-administered
        ("610302100000", Level.TOWNSHIP, "610302000000"),
        ("610302006100", Level.VILLAGE, "610302006000"),
    ],
)
def test_level_and_parent_of_a_code(code, level, parent):
    assert level_of_code(code) == level
    assert parent_code_of(code) == parent


def test_walking_up_from_a_village_reaches_the_province():
    chain, code = [], "610302006201"
    while code:
        chain.append(level_of_code(code))
        code = parent_code_of(code)
    assert chain == [Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY, Level.PROVINCE]


@pytest.mark.parametrize(
    "code",
    [
        "",
        "61030200000",  # 11 digits
        "6103020000000",  # 13 digits
        "61030200000A",
        "000000000000",
        "003020000000",
        "６１０３０２００００００",  # full-width digits
        "610302 00000",
        # A lower level filled in under an empty one is no code of any region.
        "610002000000",
        "610300006000",
        "610302000201",
    ],
)
def test_malformed_codes_are_refused(code):
    with pytest.raises(ValueError):
        level_of_code(code)
    with pytest.raises(ValueError):
        parent_code_of(code)


# --- the CSV import ---------------------------------------------------------------------

GOOD = HEADER + (
    "610000000000,陕西省,province,,,\n"
    "610300000000,宝鸡市,city,,,\n"
    "610302000000,渭滨区,county,,,\n"
    "610302006000,马营镇,,,,\n"
    "610302006201,马营东村,village,610302006000,,\n"
)


def test_import_creates_a_tree(app):
    assert import_regions_csv(GOOD) == (5, 0)
    village = region("610302006201")
    assert village.level == "village"
    assert [r.code for r in village.ancestors()] == [
        "610000000000",
        "610300000000",
        "610302000000",
        "610302006000",
    ]
    assert region("610302006000").level == "township"  # from the code when not given
    assert region("610000000000").parent is None


def test_import_twice_updates_instead_of_duplicating(app):
    import_regions_csv(GOOD)
    count = region_count()
    renamed = GOOD.replace("马营东村", "马营东社区")
    assert import_regions_csv(renamed) == (0, 5)
    assert region_count() == count
    assert region("610302006201").name == "马营东社区"


def test_import_children_may_come_before_their_parents(app):
    lines = GOOD.splitlines()
    assert import_regions_csv("\n".join([lines[0], *reversed(lines[1:])])) == (5, 0)
    assert region("610302006201").parent.code == "610302006000"


def test_import_may_attach_to_regions_already_there(app, make_region):
    make_region("610302006000")
    created, _ = import_regions_csv(HEADER + "610302006202,马营西村,village,,,\n")
    assert created == 1
    assert region("610302006202").parent.code == "610302006000"


def test_import_with_a_byte_order_mark_and_spaces(app):
    text = "\ufeff" + HEADER + " 610000000000 , 陕西省 ,province,,,\n"
    assert import_regions_csv(text) == (1, 0)
    assert region("610000000000").name == "陕西省"


def test_import_records_an_audit_entry(app, world):
    import_regions_csv(GOOD, actor=world.user("admin"))
    db.session.expire_all()
    entry = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "regions.imported")
    ).one()
    assert entry.actor_id == world.user("admin").id


@pytest.mark.parametrize(
    ("bad_line", "column"),
    [
        ("61030200620,短码村,village,,,", "code"),
        ("6103020062011,长码村,village,,,", "code"),
        ("61030200620X,字母村,village,,,", "code"),
        ("610302000201,断层村,village,,,", "code"),
        (",无码村,village,,,", "code"),
        ("610302006202,,village,,,", "name"),
        ("610302006202,错级村,township,,,", "level"),
        ("610302006202,日期村,village,,2021-13-01,", "abolished_on"),
        ("610302007201,孤儿村,village,,,", "parent_code"),  # 610302007000 exists nowhere
        ("610302006202,错父村,village,610302000000,,", "parent_code"),  # skips the township
        ("610302006201,重复村,village,,,", "code"),  # duplicate of a row of GOOD
        ("610302006202,去向不明村,village,,2021-01-01,610302009999", "successor_code"),
    ],
)
def test_import_is_all_or_nothing(app, bad_line, column):
    before = region_count()
    with pytest.raises(RegionImportError) as info:
        import_regions_csv(GOOD + bad_line + "\n")
    assert region_count() == before
    bad_row = len(GOOD.splitlines()) + 1  # 1-based, the header is row 1
    assert [(e.row, e.column) for e in info.value.errors] == [(bad_row, column)]
    assert all(e.reason for e in info.value.errors)


def test_import_lists_every_bad_row(app):
    text = HEADER + "bad,坏,,,,\n610000000000,,province,,,\n610000000000,陕西省,,,,\n"
    with pytest.raises(RegionImportError) as info:
        import_regions_csv(text)
    assert [(e.row, e.column) for e in info.value.errors] == [(2, "code"), (3, "name"), (4, "code")]
    assert region_count() == 0


def test_import_successor_may_be_in_the_file_or_the_database(app):
    text = GOOD + "610302006299,旧村,village,,2020-01-01,610302006201\n"
    import_regions_csv(text)
    old = region("610302006299")
    assert old.abolished_on == date(2020, 1, 1) and not old.is_active
    assert old.successor_code == "610302006201"
    import_regions_csv(HEADER + "610302006298,更旧村,village,,2019-01-01,610302006299\n")
    assert region("610302006298").successor_code == "610302006299"


# --- the command line -------------------------------------------------------------------


def test_cli_imports_baoji(app):
    result = app.test_cli_runner().invoke(args=["regions", "import"])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    db.session.expire_all()

    baoji = region("610300000000")
    assert baoji.name == "宝鸡市" and baoji.level == "city"
    assert baoji.parent.code == "610000000000"
    counties = {r.code: r for r in baoji.children}
    assert all(r.level == "county" for r in counties.values())
    in_force = {code for code, r in counties.items() if r.is_active}
    assert len(in_force) == 12
    assert {"610302000000", "610303000000", "610304000000", "610305000000"} <= in_force

    fengxiang_county = counties["610322000000"]
    assert fengxiang_county.name == "凤翔县"
    assert fengxiang_county.abolished_on == date(2021, 2, 3)
    assert fengxiang_county.successor_code == "610305000000"
    assert counties["610305000000"].name == "凤翔区"
    # Every row of the file became a region with its parent.
    with open(BAOJI_CSV, encoding="utf-8-sig") as handle:
        rows = len(handle.read().strip().splitlines()) - 1
    assert region_count() == rows
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Region).where(Region.parent_id.is_(None))
        )
        == 1
    )


def test_cli_import_is_repeatable(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["regions", "import"]).exit_code == 0
    count = region_count()
    result = runner.invoke(args=["regions", "import"])
    assert result.exit_code == 0
    assert "0 created" in result.output
    assert region_count() == count


def test_cli_import_of_a_bad_file_reports_rows_and_imports_nothing(app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(GOOD + "610302007201,孤儿村,village,,,\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["regions", "import", str(path)])
    assert result.exit_code != 0
    assert "row 7, parent_code" in result.output
    assert region_count() == 0


# --- browsing ---------------------------------------------------------------------------


def test_county_staff_browse_their_own_county(client, auth, world):
    auth.login_as(world.user("county_staff"))
    response = client.get("/regions/")
    assert response.status_code == 200
    assert "渭滨区" in response.get_data(as_text=True)
    assert "马营镇" in response.get_data(as_text=True)
    response = client.get(f"/regions/{world.township_a.id}")
    assert response.status_code == 200
    assert "马营东村" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["county_b", "township_b", "village_b"])
def test_county_staff_get_404_for_another_county(client, auth, world, target):
    auth.login_as(world.user("county_staff"))
    assert client.get(f"/regions/{getattr(world, target).id}").status_code == 404


def test_county_staff_get_404_above_their_county(client, auth, world):
    auth.login_as(world.user("county_staff"))
    city = world.county_a.parent
    assert client.get(f"/regions/{city.id}").status_code == 404
    assert client.get(f"/regions/{city.parent.id}").status_code == 404
    # The breadcrumb does not lead there either.
    body = client.get(f"/regions/{world.township_a.id}").get_data(as_text=True)
    assert f'/regions/{city.id}"' not in body


def test_admin_browses_everything(client, auth, world):
    auth.login_as(world.user("admin"))
    assert client.get("/regions/").status_code == 200
    for r in (world.county_b, world.township_b, world.county_a.parent):
        assert client.get(f"/regions/{r.id}").status_code == 200


def test_missing_region_is_404(client, auth, world):
    auth.login_as(world.user("admin"))
    assert client.get("/regions/999999").status_code == 404


def test_api_lists_children_and_hides_abolished(client, auth, world, make_region):
    old = make_region("610302006299", "旧村")
    old.abolished_on = date(2020, 1, 1)
    db.session.flush()
    auth.login_as(world.user("visitor"))
    response = client.get(f"/api/v1/regions/?parent_id={world.township_a.id}")
    assert response.status_code == 200
    assert [r["code"] for r in response.get_json()] == ["610302006201"]
    response = client.get(
        f"/api/v1/regions/?parent_id={world.township_a.id}&include_abolished=true"
    )
    assert [r["code"] for r in response.get_json()] == ["610302006201", "610302006299"]


@pytest.mark.parametrize("region_id", [2**31, 2**63, 10**30])
def test_ids_beyond_any_row_are_404_not_a_database_error(client, auth, world, region_id):
    auth.login_as(world.user("admin"))
    assert client.get(f"/regions/{region_id}").status_code == 404
    assert client.get(f"/api/v1/regions/{region_id}").status_code == 404
    response = client.get(f"/api/v1/regions/?parent_id={region_id}")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"parent_id"}
