"""Roster import (.xlsx/.csv, all-or-nothing with a row-by-row report) and .xlsx export."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from openpyxl import Workbook

from eldercare.core import audit, resident_id
from eldercare.core.db import can_copy, copy_rows, local_today, utcnow
from eldercare.core.i18n import plain_messages
from eldercare.core.masking import mask_phone
from eldercare.core.spreadsheets import (
    ExportHeader,
    RowError,
    append_row,
    read_table,
    rows_of,
    write_header,
)
from eldercare.core.upload_limits import TableLimits, one_import_at_a_time
from eldercare.extensions import db
from eldercare.people.models import (
    ABILITY_LABELS,
    ECONOMIC_LABELS,
    HUKOU_LABELS,
    AbilityAssessment,
    EconomicStatus,
    HukouType,
    Person,
    id_number_index,
)
from eldercare.people.operations import EDITABLE, LIFE_FIELDS
from eldercare.people.schemas import PersonSchema
from eldercare.regions.models import PREFIX_LENGTH, Level, Region

# Column headers accepted in a roster: the Chinese ledger heading, or the field name.
HEADERS = {
    "name": ("姓名",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "birth_date": ("出生日期",),
    "sex": ("性别",),
    "phone": ("联系电话", "电话", "手机号"),
    "address": ("住址", "现住址", "居住地址"),
    "region_code": ("区划代码", "村(社区)代码", "村（社区）代码", "村社区代码"),
    "hukou_type": ("户籍类型",),
    "hukou_address": ("户籍地址", "户籍所在地"),
    "lives_alone": ("独居",),
    "empty_nest": ("空巢",),
    "left_behind": ("留守",),
    "special_family": ("计生特殊家庭",),
    "economic_status": ("经济状况",),
    "death_date": ("死亡日期",),
}
REQUIRED_COLUMNS = ("name", "id_number", "region_code")
COLUMN_LABEL = {key: names[0] for key, names in HEADERS.items()}
YES = {"是", "1", "y", "yes", "true", "√", "✓"}
NO = {"否", "0", "n", "no", "false", ""}
SEX_VALUES = {"男": "M", "女": "F", "m": "M", "f": "F"}
HUKOU_VALUES = {"本地": HukouType.LOCAL.value, "外地": HukouType.NON_LOCAL.value}
ECONOMIC_VALUES = {
    "无": EconomicStatus.NONE.value,
    "低保": EconomicStatus.DIBAO.value,
    "特困集中供养": EconomicStatus.TEKUN_CONCENTRATED.value,
    "特困分散供养": EconomicStatus.TEKUN_DISPERSED.value,
    "低收入": EconomicStatus.LOW_INCOME.value,
}
BOOL_FIELDS = ("lives_alone", "empty_nest", "left_behind", "special_family")


@dataclass
class ImportResult:
    created: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _convert(raw: dict[str, str], errors: list[RowError], row: int) -> dict:
    data: dict = {}
    for key, value in raw.items():
        if key in BOOL_FIELDS:
            v = value.lower()
            if v in YES:
                data[key] = True
            elif v in NO:
                data[key] = False
            else:
                errors.append(RowError(row, COLUMN_LABEL[key], _("Write 是 or 否.")))
        elif key == "sex" and value:
            if value.lower() not in SEX_VALUES:
                errors.append(RowError(row, COLUMN_LABEL[key], _("Write 男 or 女.")))
            else:
                data[key] = SEX_VALUES[value.lower()]
        elif key == "hukou_type" and value:
            data[key] = HUKOU_VALUES.get(value, value)
        elif key == "economic_status" and value:
            data[key] = ECONOMIC_VALUES.get(value, value)
        elif key == "birth_date" or key == "death_date":
            data[key] = value.replace("/", "-").replace(".", "-") if value else None
        else:
            data[key] = value
    return data


# Columns a roster row may leave out, with what the model would store (PersonSchema fills
# in the other optional fields itself).
_PERSON_DEFAULTS = {"phone": None, "death_date": None, "moved_out_on": None, "moved_out_to": ""}
# The audit view of a new person as operations.snapshot gives it (the masked ID number under
# "id_number"), in changes_between's order: (key, column of the person row).
_SNAPSHOT_SOURCES = tuple(
    (key, "id_number_masked" if key == "id_number" else key)
    for key in sorted((*EDITABLE, *LIFE_FIELDS, "id_number"))
)


def _person_row(clean: dict, parsed: resident_id.ResidentId, digest: str, now) -> dict:
    """The ``person`` row of a checked roster line: what Person.set_id_number and the loaded
    fields would give (birth date and sex always from the ID number)."""
    row = {k: v for k, v in clean.items() if k not in ("id_number", "birth_date", "sex")}
    for key, default in _PERSON_DEFAULTS.items():
        row.setdefault(key, default)
    row.update(
        id_number=parsed.number,
        id_number_index=digest,
        id_number_masked=parsed.masked,
        birth_date=parsed.birth_date,
        sex=parsed.sex,
        created_at=now,
        updated_at=now,
    )
    return row


def _registered_changes(row: dict) -> dict:
    """``audit.changes_between({}, snapshot(person))`` for a new person's row, without
    loading the person: every field that is set, as [None, value], identifiers masked."""
    out = {}
    for key, source in _SNAPSHOT_SOURCES:
        value = row[source]
        if key == "phone":
            value = mask_phone(value)
        elif value is None:
            continue
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = [None, value]
    return out


class _Registered(NamedTuple):
    """A person just inserted, as the audit log needs it."""

    id: int
    region_id: int
    changes: dict

    @staticmethod
    def changes_of(entry: _Registered) -> dict:
        return entry.changes


def _insert_people(rows: list[dict]) -> list[int]:
    """Insert the rows into ``person`` through its column types (the ID number is encrypted
    by EncryptedString); returns their ids, in order. On PostgreSQL (psycopg) the ids are
    drawn from the table's sequence and the rows sent by COPY: an ORM flush or a multi-row
    INSERT of 100,000 people spends most of its time building and parsing statements."""
    table = Person.__table__
    names = [column.name for column in table.columns if column.name != "id"]
    if not can_copy(db.session):
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        rows = [{name: row[name] for name in names} for row in rows]
        return list(db.session.scalars(stmt, rows)) if rows else []
    ids = list(
        db.session.scalars(
            sa.text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ),
            {"table": table.name, "n": len(rows)},
        )
    )
    copy_rows(
        db.session,
        table,
        ["id", *names],
        ([person_id, *(row[n] for n in names)] for person_id, row in zip(ids, rows, strict=True)),
    )
    return ids


@one_import_at_a_time
def import_roster(filename: str, content: bytes, by) -> ImportResult:
    """Check every row first; write all rows or none. Errors name row, column and reason."""
    limit = current_app.config["ROSTER_IMPORT_MAX_ROWS"]
    table = read_table(filename, content, TableLimits.for_rows(limit))
    result = ImportResult()
    mapping, body, result.errors = rows_of(table, HEADERS, REQUIRED_COLUMNS, limit)
    if result.errors:
        return result

    regions_stmt = sa.select(Region.code, Region.id).where(
        Region.level.in_(["township", "village"]), Region.abolished_on.is_(None)
    )
    if by.region is not None:
        regions_stmt = regions_stmt.where(Region.code.startswith(by.region.prefix))
    region_ids = dict(db.session.execute(regions_stmt).all())

    schema = PersonSchema()
    today = local_today()
    valid: list[tuple[int, dict, resident_id.ResidentId, str]] = []
    seen: dict[str, int] = {}
    for offset, cells in enumerate(body):
        row = offset + 2
        if not any(cells):
            continue
        result.rows += 1
        raw = {key: (cells[i] if i < len(cells) else "") for i, key in mapping.items()}
        row_errors: list[RowError] = []
        data = _convert(raw, row_errors, row)
        code = data.pop("region_code", "")
        if code:
            region_id = region_ids.get(code.ljust(12, "0") if len(code) in (9,) else code)
            if region_id is None:
                row_errors.append(
                    RowError(
                        row,
                        COLUMN_LABEL["region_code"],
                        _("Not a township or village code in your area."),
                    )
                )
            else:
                data["region_id"] = region_id
        try:
            clean = schema.load(data)
        except ValidationError as err:
            for key, messages in plain_messages(err.messages).items():
                label = COLUMN_LABEL.get(key, key)
                if key == "region_id":
                    label = COLUMN_LABEL["region_code"]
                    if code:
                        continue  # already reported above
                for message in messages if isinstance(messages, list) else [messages]:
                    row_errors.append(RowError(row, label, str(message)))
            clean = None
        if clean is not None and not row_errors:
            parsed = resident_id.parse(clean["id_number"], today)
            digest = id_number_index(parsed.number)
            if digest in seen:
                row_errors.append(
                    RowError(
                        row,
                        COLUMN_LABEL["id_number"],
                        _("Same ID number as row %(n)s.", n=seen[digest]),
                    )
                )
            else:
                seen[digest] = row
                valid.append((row, clean, parsed, digest))
        result.errors.extend(row_errors)

    digests = [d for _row, _data, _parsed, d in valid]
    registered: set[str] = set()
    for start in range(0, len(digests), 1000):
        chunk = digests[start : start + 1000]
        registered.update(
            db.session.scalars(
                sa.select(Person.id_number_index).where(Person.id_number_index.in_(chunk))
            )
        )
    for row, _data, _parsed, digest in valid:
        if digest in registered:
            result.errors.append(
                RowError(row, COLUMN_LABEL["id_number"], _("This ID number is already registered."))
            )
    if result.errors:
        result.errors.sort(key=lambda e: e.row)
        return result

    now = utcnow()
    rows = [_person_row(clean, parsed, digest, now) for _row, clean, parsed, digest in valid]
    ids = _insert_people(rows)
    result.created = len(rows)
    audit.record(
        "person.roster_imported",
        actor=by,
        region_id=by.region_id,
        changes={"file": [None, filename[:100]], "people": [None, len(rows)]},
    )
    audit.record_many(
        "person.registered",
        [
            _Registered(person_id, r["region_id"], _registered_changes(r))
            for person_id, r in zip(ids, rows, strict=True)
        ],
        actor=by,
        changes=_Registered.changes_of,
        note=filename[:100],
        entity_type=Person.__name__,
    )
    return result


EXPORT_COLUMNS = (
    "姓名",
    "身份证号",
    "性别",
    "年龄",
    "联系电话",
    "县（区）",
    "乡镇（街道）",
    "村（社区）",
    "住址",
    "户籍类型",
    "独居",
    "空巢",
    "留守",
    "计生特殊家庭",
    "经济状况",
    "能力等级",
    "死亡日期",
)


def _above(level: Level) -> sa.ColumnElement:
    """The code of the region of ``level`` that the person's region code falls in."""
    keep = PREFIX_LENGTH[level]
    return sa.func.substr(Region.code, 1, keep) + "0" * (12 - keep)


def export_people_xlsx(stmt: sa.Select, header: ExportHeader | None = None) -> str:
    """Write the selected people to a temporary .xlsx (IDs and phones masked) under the
    export header (the page always gives one; the benchmark needs none); returns the path.
    Each row names the whole place, county, township and village: the same community name
    exists in several townships of a county, and the ledger must split by township."""
    county, township = sa.orm.aliased(Region), sa.orm.aliased(Region)
    latest_level = (
        sa.select(AbilityAssessment.level)
        .where(AbilityAssessment.person_id == Person.id)
        .order_by(AbilityAssessment.assessed_on.desc(), AbilityAssessment.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = stmt.with_only_columns(
        Person.name,
        Person.id_number_masked,
        Person.sex,
        Person.birth_date,
        Person.phone,
        county.name,
        township.name,
        Region.name,
        Region.level,
        Person.address,
        Person.hukou_type,
        Person.lives_alone,
        Person.empty_nest,
        Person.left_behind,
        Person.special_family,
        Person.economic_status,
        latest_level,
        Person.death_date,
    ).join(Region, Region.id == Person.region_id)
    rows = rows.outerjoin(county, county.code == _above(Level.COUNTY)).outerjoin(
        township, township.code == _above(Level.TOWNSHIP)
    )
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(_("Elderly registry"))
    if header is not None:
        write_header(sheet, header)
    append_row(sheet, EXPORT_COLUMNS)
    today = local_today()
    yes, no = "是", "否"
    # The labels translated once, not once a row (a county's export has 100,000 rows).
    hukou = {k: str(v) for k, v in HUKOU_LABELS.items()}
    economic = {k: str(v) for k, v in ECONOMIC_LABELS.items()}
    ability = {k: str(v) for k, v in ABILITY_LABELS.items()}
    for r in db.session.execute(rows.execution_options(yield_per=2000)):
        append_row(
            sheet,
            [
                r[0],
                r[1],
                "男" if r[2] == "M" else "女",
                resident_id.age_on(r[3], today),
                mask_phone(r[4]),
                r[5] or "",
                r[6] or "",
                r[7] if r[8] == Level.VILLAGE.value else "",
                r[9],
                hukou.get(r[10], r[10]),
                yes if r[11] else no,
                yes if r[12] else no,
                yes if r[13] else no,
                yes if r[14] else no,
                economic.get(r[15], r[15]),
                ability.get(r[16], "") if r[16] else "",
                r[17].isoformat() if r[17] else "",
            ],
        )
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    wb.save(handle.name)
    return handle.name
