"""Import of a facility's rooms and beds from .xlsx: every row checked first, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError

from eldercare.beds.models import Bed, CareType, Room
from eldercare.beds.operations.rooms import create_bed, create_room, price_refusal
from eldercare.beds.operations.state import _require_operator
from eldercare.beds.schemas import BedSchema, RoomSchema
from eldercare.core import audit
from eldercare.core.i18n import plain_messages
from eldercare.core.spreadsheets import RowError, SpreadsheetError, read_table, rows_of
from eldercare.core.upload_limits import TableLimits, one_import_at_a_time
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.operations import county_settings_for

MAX_ROWS = 5000
# Column headers accepted: the Chinese heading, or the field name.
HEADERS = {
    "building": ("楼栋",),
    "floor": ("楼层",),
    "number": ("房间号", "房间"),
    "label": ("床号", "床位号"),
    "care_type": ("床位类型",),
    "monthly_price": ("月收费(元)", "月收费（元）", "月收费", "收费标准(元/月)"),
}
REQUIRED_COLUMNS = ("floor", "number", "label", "care_type", "monthly_price")
COLUMN_LABEL = {key: names[0] for key, names in HEADERS.items()}
CARE_TYPES = {
    "护理型": CareType.NURSING.value,
    "护理型床位": CareType.NURSING.value,
    "普通型": CareType.GENERAL.value,
    "普通型床位": CareType.GENERAL.value,
    "失智照护": CareType.DEMENTIA.value,
    "失智照护型": CareType.DEMENTIA.value,
    "失智照护床位": CareType.DEMENTIA.value,
}


@dataclass
class ImportResult:
    created: int = 0
    rooms: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _schema_errors(err: ValidationError, row: int) -> list[RowError]:
    out = []
    for key, messages in plain_messages(err.messages).items():
        for message in messages if isinstance(messages, list) else [messages]:
            out.append(RowError(row, COLUMN_LABEL.get(key, key), str(message)))
    return out


@one_import_at_a_time
def import_beds(facility: Facility, filename: str, content: bytes, by) -> ImportResult:
    """Check every row; create the missing rooms and every bed, or nothing (never commits)."""
    _require_operator(by, facility.id)
    if not filename.lower().endswith(".xlsx"):
        raise SpreadsheetError(_("Upload an .xlsx file."))
    table = read_table(filename, content, TableLimits.for_rows(MAX_ROWS))
    result = ImportResult()
    mapping, body, result.errors = rows_of(table, HEADERS, REQUIRED_COLUMNS, MAX_ROWS)
    if result.errors:
        return result

    existing_rooms = {
        (room.building, room.number): room
        for room in db.session.scalars(sa.select(Room).where(Room.facility_id == facility.id))
    }
    existing_beds = set(
        db.session.execute(
            sa.select(Room.building, Room.number, Bed.label)
            .join(Bed, Bed.room_id == Room.id)
            .where(Room.facility_id == facility.id)
        ).all()
    )
    room_schema, bed_schema = RoomSchema(), BedSchema()
    settings = county_settings_for(facility.region)
    floors: dict[tuple[str, str], tuple[int, int]] = {}  # room -> (floor, first row)
    seen: dict[tuple[str, str, str], int] = {}
    valid: list[tuple[dict, dict]] = []
    for offset, cells in enumerate(body):
        row = offset + 2
        if not any(cells):
            continue
        result.rows += 1
        raw = {key: (cells[i] if i < len(cells) else "") for i, key in mapping.items()}
        row_errors: list[RowError] = []
        care = raw.get("care_type", "")
        if care and care not in CARE_TYPES and care not in {c.value for c in CareType}:
            row_errors.append(
                RowError(row, COLUMN_LABEL["care_type"], _("Write 护理型, 普通型 or 失智照护."))
            )
        raw["care_type"] = CARE_TYPES.get(care, care)
        raw["monthly_price"] = raw.get("monthly_price", "").replace(",", "").replace("，", "")
        room_data = bed_data = None
        try:
            room_data = room_schema.load(
                {k: raw.get(k, "") for k in ("building", "floor", "number")}
            )
        except ValidationError as err:
            row_errors.extend(_schema_errors(err, row))
        try:
            bed_data = bed_schema.load(
                {k: raw.get(k, "") for k in ("label", "care_type", "monthly_price")}
            )
        except ValidationError as err:
            reported = {e.column for e in row_errors}
            row_errors.extend(e for e in _schema_errors(err, row) if e.column not in reported)
        if bed_data is not None:
            refusal = price_refusal(settings, bed_data["monthly_price_fen"])
            if refusal is not None:
                row_errors.append(RowError(row, COLUMN_LABEL["monthly_price"], str(refusal)))
        if room_data is not None and bed_data is not None and not row_errors:
            key = (room_data["building"], room_data["number"])
            bed_key = (*key, bed_data["label"])
            known = existing_rooms.get(key)
            floor, first = floors.setdefault(
                key, (known.floor if known else room_data["floor"], row)
            )
            if floor != room_data["floor"]:
                reason = (
                    _("This room already exists on floor %(floor)s.", floor=floor)
                    if known
                    else _(
                        "The same room is on floor %(floor)s in row %(n)s.", floor=floor, n=first
                    )
                )
                row_errors.append(RowError(row, COLUMN_LABEL["floor"], reason))
            elif bed_key in existing_beds:
                row_errors.append(
                    RowError(
                        row,
                        COLUMN_LABEL["label"],
                        _("This room already has a bed with this number."),
                    )
                )
            elif bed_key in seen:
                row_errors.append(
                    RowError(
                        row, COLUMN_LABEL["label"], _("Same bed as row %(n)s.", n=seen[bed_key])
                    )
                )
            else:
                seen[bed_key] = row
                valid.append((room_data, bed_data))
        result.errors.extend(row_errors)
    if result.errors:
        result.errors.sort(key=lambda e: e.row)
        return result

    rooms = dict(existing_rooms)
    for room_data, bed_data in valid:
        key = (room_data["building"], room_data["number"])
        if key not in rooms:
            rooms[key] = create_room(facility, room_data, by)
            result.rooms += 1
        create_bed(rooms[key], bed_data, by)
        result.created += 1
    audit.record(
        "bed.imported",
        actor=by,
        facility_id=facility.id,
        region_id=facility.region_id,
        changes={
            "file": [None, filename[:100]],
            "rooms": [None, result.rooms],
            "beds": [None, result.created],
        },
    )
    return result
