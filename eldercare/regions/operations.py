"""Import regions from CSV (code,name[,level][,parent_code][,abolished_on][,successor_code])."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError
from eldercare.core.permissions import is_county_staff_of, visible
from eldercare.extensions import db
from eldercare.regions.models import (
    LEVEL_ORDER,
    CountySettings,
    Level,
    Region,
    level_of_code,
    parent_code_of,
)


@dataclass
class RowError:
    row: int
    column: str
    reason: str


class RegionImportError(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def _read_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def import_regions_csv(text: str, actor=None) -> tuple[int, int]:
    """Insert or update regions; all rows are checked before anything is written.

    Returns (created, updated). Raises RegionImportError listing every bad row.
    """
    rows = _read_rows(text)
    errors: list[RowError] = []
    parsed: list[dict] = []
    codes_in_file = set()
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        code = row.get("code", "")
        name = row.get("name", "")
        try:
            level = level_of_code(code)
        except ValueError:
            errors.append(RowError(number, "code", _("A region code has 12 digits.")))
            continue
        if row.get("level") and row["level"] != level.value:
            errors.append(RowError(number, "level", _("The level does not match the code.")))
        if not name:
            errors.append(RowError(number, "name", _("The name is missing.")))
        parent = parent_code_of(code)
        if row.get("parent_code") and row["parent_code"] != parent:
            # Scopes are code prefixes: a parent other than the code's own would put the
            # region in one subtree for browsing and in another for permissions.
            errors.append(
                RowError(number, "parent_code", _("The parent code does not match the code."))
            )
        abolished = None
        if row.get("abolished_on"):
            try:
                abolished = date.fromisoformat(row["abolished_on"])
            except ValueError:
                errors.append(RowError(number, "abolished_on", _("Not a valid date (YYYY-MM-DD).")))
        if code in codes_in_file:
            errors.append(RowError(number, "code", _("This code appears twice in the file.")))
        codes_in_file.add(code)
        parsed.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "parent_code": parent,
                "abolished_on": abolished,
                "successor_code": row.get("successor_code") or None,
                "row": number,
            }
        )
    existing = {r.code: r for r in db.session.scalars(sa.select(Region))}
    known = set(existing) | codes_in_file
    for item in parsed:
        if item["parent_code"] and item["parent_code"] not in known:
            errors.append(RowError(item["row"], "parent_code", _("The parent region is unknown.")))
        if item["successor_code"] and item["successor_code"] not in known:
            errors.append(
                RowError(item["row"], "successor_code", _("The successor region is unknown."))
            )
    errors.sort(key=lambda e: e.row)
    if errors:
        raise RegionImportError(errors)

    created = updated = 0
    parsed.sort(key=lambda i: LEVEL_ORDER.index(Level(i["level"])))
    for item in parsed:
        region = existing.get(item["code"])
        if region is None:
            region = Region(code=item["code"])
            db.session.add(region)
            existing[item["code"]] = region
            created += 1
        else:
            updated += 1
        region.name = item["name"]
        region.level = item["level"].value
        region.abolished_on = item["abolished_on"]
        region.successor_code = item["successor_code"]
        region.parent = existing.get(item["parent_code"]) if item["parent_code"] else None
    db.session.flush()
    audit.record(
        "regions.imported",
        actor=actor,
        changes={"created": [None, created], "updated": [None, updated]},
    )
    return created, updated


def top_regions() -> list[Region]:
    return list(
        db.session.scalars(
            sa.select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)
        )
    )


def list_regions(user, args: dict) -> list[Region]:
    """Regions by parent or level (the top level when neither is given), at most 5,000."""
    stmt = visible(Region, user).order_by(Region.code)
    if "parent_id" in args:
        stmt = stmt.where(Region.parent_id == args["parent_id"])
    elif "level" not in args:
        stmt = stmt.where(Region.parent_id.is_(None))
    if "level" in args:
        stmt = stmt.where(Region.level == args["level"])
    if not args["include_abolished"]:
        stmt = stmt.where(Region.abolished_on.is_(None))
    return list(db.session.scalars(stmt.limit(5000)))


def county_settings_for(region: Region | None) -> CountySettings:
    """The bounds in force for a region: those of the county it lies in, or the defaults
    (above county level, or for a county that saved none)."""
    node = region.county if region is not None else None
    if node is None:
        return CountySettings.defaults()
    saved = db.session.scalar(sa.select(CountySettings).where(CountySettings.region_id == node.id))
    return saved if saved is not None else CountySettings.defaults(node.id)


def can_edit_county_settings(user, region: Region) -> bool:
    """Administrators, and county staff of that county (or of the city above it), keep a
    county's settings."""
    return region.level == Level.COUNTY.value and is_county_staff_of(user, region)


SETTING_FIELDS = ("subsidy_periods_ahead", "bed_price_min_fen", "bed_price_max_fen")


def update_county_settings(region: Region, data: dict, by) -> CountySettings:
    """Save a county's settings (the first save creates its row); audited with what changed."""
    if not can_edit_county_settings(by, region):
        raise AppError(403, _l("Only the county's own staff can change its settings."))
    settings = db.session.scalar(
        sa.select(CountySettings).where(CountySettings.region_id == region.id).with_for_update()
    )
    current = settings or CountySettings.defaults(region.id)
    before = {key: getattr(current, key) for key in SETTING_FIELDS}
    if settings is None:
        settings = current
        db.session.add(settings)
    for key in SETTING_FIELDS:
        setattr(settings, key, data[key])
    changes = audit.changes_between(before, {key: getattr(settings, key) for key in SETTING_FIELDS})
    if changes:
        settings.updated_by_id = by.id
        settings.updated_at = utcnow()
        db.session.flush()
        audit.record(
            "county_settings.updated", settings, actor=by, region_id=region.id, changes=changes
        )
    return settings
