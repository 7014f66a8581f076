"""What county staff do with a list: upload it (the file kept), choose its columns and
process it (the mapping remembered for its source), download it again, and decide, as a
second officer, the rows that wait for review."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import Role, is_county_staff_of, role_of, visible
from eldercare.core.spreadsheets import SpreadsheetError, TableLimits
from eldercare.core.upload_limits import one_import_at_a_time
from eldercare.extensions import db
from eldercare.feeds import matching
from eldercare.feeds.models import (
    FeedImport,
    FeedRow,
    FeedSource,
    ImportStatus,
    RowOutcome,
    RowStatus,
)
from eldercare.feeds.schemas import FIELDS, max_rows
from eldercare.people.models import Person
from eldercare.regions.models import Level, Region

CANDIDATES = 20


# --- who and where ---------------------------------------------------------------------------


def counties_for(user) -> list[Region]:
    """The counties a user imports for: county staff their own, an administrator any."""
    if role_of(user) == Role.ADMIN:
        return list(
            db.session.scalars(
                sa.select(Region)
                .where(Region.level == Level.COUNTY.value, Region.abolished_on.is_(None))
                .order_by(Region.code)
            )
        )
    region = getattr(user, "region", None)
    county = region.county if region is not None else None
    return [county] if county is not None else []


def _county_of(user, county_id: int | None) -> Region:
    counties = counties_for(user)
    if role_of(user) != Role.ADMIN:
        if not counties:
            raise AppError(403)
        return counties[0]
    chosen = next((c for c in counties if c.id == county_id), None)
    if chosen is None:
        raise Invalid(errors={"county_id": [_l("Choose the county the list is for.")]})
    return chosen


def sources_of(user) -> list[FeedSource]:
    return list(db.session.scalars(visible(FeedSource, user).order_by(FeedSource.name)))


def _source(county: Region, name: str) -> FeedSource:
    """The county's source of this name, created the first time it is named."""
    name = " ".join(name.split())[:50]
    found = db.session.scalar(
        sa.select(FeedSource).where(FeedSource.county_id == county.id, FeedSource.name == name)
    )
    if found is None:
        found = FeedSource(county_id=county.id, name=name, mapping={})
        db.session.add(found)
        db.session.flush()
        audit.record("feeds.source_created", found, region_id=county.id)
    return found


# --- upload, columns, processing -------------------------------------------------------------


@one_import_at_a_time
def upload(data: dict, by) -> FeedImport:
    """Keep the file (it must be readable, with at most FEEDS_MAX_ROWS rows) for its
    columns to be chosen."""
    county = _county_of(by, data.get("county_id"))
    if not is_county_staff_of(by, county):
        raise AppError(403)
    file = data["file"]
    try:
        table = matching.read_table(file.name, file.data, TableLimits.for_rows(max_rows()))
    except SpreadsheetError as err:
        # Past FEEDS_MAX_ROWS rows too: read_table stops there and says so.
        raise Invalid(errors={"file": [str(err)]}) from err
    if len(table) < 2 or not any(any(cells) for cells in table[1:]):
        raise Invalid(errors={"file": [_l("The file has no rows under its header row.")]})
    source = _source(county, data["source_name"])
    feed_import = FeedImport(
        county_id=county.id,
        source=source,
        kind=data["kind"],
        status=ImportStatus.UPLOADED.value,
        original_name=file.name,
        size=len(file.data),
        sha256=hashlib.sha256(file.data).hexdigest(),
        content=file.data,
        mapping={},
        imported_by_id=by.id,
    )
    db.session.add(feed_import)
    db.session.flush()
    audit.record(
        "feeds.uploaded",
        feed_import,
        region_id=county.id,
        changes={"file": [None, file.name[:100]], "sha256": [None, feed_import.sha256]},
        note=source.name,
    )
    return feed_import


def mapping_page(feed_import: FeedImport) -> dict:
    """What the columns page shows: the headers, the first rows (ID numbers masked), the
    columns pre-chosen, and an earlier import of the same file from the same source."""
    table = matching.table_of(feed_import)
    headers, rows = matching.preview(table)
    chosen = feed_import.mapping or matching.guess_mapping(headers, feed_import.source.mapping)
    earlier = db.session.scalar(
        sa.select(FeedImport)
        .where(
            FeedImport.source_id == feed_import.source_id,
            FeedImport.sha256 == feed_import.sha256,
            FeedImport.id != feed_import.id,
            FeedImport.status == ImportStatus.PROCESSED.value,
        )
        .order_by(FeedImport.id.desc())
        .limit(1)
    )
    return {
        "headers": headers,
        "rows": rows,
        "chosen": {key: str(index) for key, index in chosen.items()},
        "earlier": earlier,
        "rows_total": max(len(table) - 1, 0),
    }


def process(feed_import: FeedImport, mapping: dict, by) -> FeedImport:
    """Match every row and apply what may be applied by itself; the rest waits for review or
    is refused with its reason. The columns are remembered for the source."""
    if not is_county_staff_of(by, feed_import.county):
        raise AppError(403)
    feed_import = db.session.scalar(
        sa.select(FeedImport)
        .where(FeedImport.id == feed_import.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if feed_import.is_processed:
        raise Conflict(_l("This list is already processed."))
    table = matching.table_of(feed_import)
    headers = table[0] if table else []
    errors = {}
    for key, _label, required in FIELDS:
        index = mapping.get(key)
        if index is not None and index >= len(headers):
            errors[key] = [_l("Choose one of the columns.")]
        elif required and index is None:
            errors[key] = [_l("Choose the column that holds this field.")]
    if errors:
        raise Invalid(errors=errors)
    body = table[1:]
    if len(body) > max_rows():
        raise Invalid(errors={"_schema": [_l("At most %(n)s rows in one file.", n=max_rows())]})
    chosen = {key: mapping.get(key) for key, _label, _required in FIELDS}
    base = {"import_id": feed_import.id, "county_id": feed_import.county_id}
    base["kind"] = feed_import.kind
    outcome = matching.Outcome()
    lines = matching.read_lines(body, chosen, outcome, base)
    matching.match(feed_import, lines, outcome, base, by)
    matching.insert_rows(outcome.rows)
    feed_import.mapping = {k: v for k, v in chosen.items() if v is not None}
    feed_import.source.mapping = {
        k: headers[v].strip() for k, v in feed_import.mapping.items() if headers[v].strip()
    }
    feed_import.status = ImportStatus.PROCESSED.value
    feed_import.processed_at = utcnow()
    feed_import.rows_total = len(lines) + outcome.rejected
    for name in ("applied", "already_known", "to_review", "unknown", "rejected", "queued_before"):
        setattr(feed_import, name, getattr(outcome, name))
    db.session.flush()
    audit.record(
        "feeds.processed",
        feed_import,
        region_id=feed_import.county_id,
        changes={
            name: [None, getattr(outcome, name)]
            for name in ("applied", "already_known", "to_review", "unknown", "rejected")
        },
        note=feed_import.source.name,
    )
    return feed_import


def file_of(feed_import: FeedImport, by) -> bytes:
    """The file as it was uploaded; each download is audited."""
    if not is_county_staff_of(by, feed_import.county):
        raise AppError(403)
    audit.record(
        "feeds.file_downloaded",
        feed_import,
        actor=by,
        region_id=feed_import.county_id,
        note=feed_import.original_name[:100],
    )
    return feed_import.content


# --- lists -----------------------------------------------------------------------------------


def imports_of(user) -> sa.Select:
    return (
        visible(FeedImport, user)
        .options(joinedload(FeedImport.source), joinedload(FeedImport.imported_by))
        .order_by(FeedImport.created_at.desc(), FeedImport.id.desc())
    )


def queue_of(user, args: dict) -> sa.Select:
    stmt = (
        visible(FeedRow, user)
        .where(FeedRow.status == RowStatus.PENDING.value)
        .options(joinedload(FeedRow.feed_import).joinedload(FeedImport.source))
        .order_by(FeedRow.created_at, FeedRow.id)
    )
    if args.get("kind"):
        stmt = stmt.where(FeedRow.kind == args["kind"])
    if args.get("reason"):
        stmt = stmt.where(FeedRow.reason == args["reason"])
    return stmt


def rows_of_import(feed_import: FeedImport, limit: int = 500) -> list[FeedRow]:
    """The import's rows waiting, decided or refused (the first ``limit``)."""
    return list(
        db.session.scalars(
            sa.select(FeedRow)
            .where(FeedRow.import_id == feed_import.id)
            .order_by(FeedRow.row_number, FeedRow.id)
            .limit(limit)
        )
    )


def candidates(row: FeedRow, user) -> list[Person]:
    """Whom the row may be about: the person of its ID number, and people of the county of
    the same name (an ID number mistyped in the list)."""
    county = row.feed_import.county
    stmt = (
        visible(Person, user)
        .where(
            Person.region_id.in_(Region.subtree_ids(county)),
            sa.or_(Person.id == row.person_id, Person.name == row.name),
        )
        .options(joinedload(Person.region))
        .order_by(Person.id)
        .limit(CANDIDATES)
    )
    return list(db.session.scalars(stmt))


def may_decide(row: FeedRow, user) -> bool:
    return (
        row.is_pending
        and row.outcome == RowOutcome.REVIEW.value
        and is_county_staff_of(user, row.feed_import.county)
        and row.feed_import.imported_by_id != getattr(user, "id", None)
    )


# --- the review ------------------------------------------------------------------------------


def decide(row: FeedRow, data: dict, by) -> FeedRow:
    """Apply the row to the person the officer chose (through the registry's one writer,
    as the feed would have) or dismiss it with a note. The officer who imported the list
    cannot decide its rows."""
    row = db.session.scalar(
        sa.select(FeedRow)
        .where(FeedRow.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    county = row.feed_import.county
    if not is_county_staff_of(by, county):
        raise AppError(403)
    if not row.is_pending or row.outcome != RowOutcome.REVIEW.value:
        raise Conflict(_l("This row is already decided."))
    if row.feed_import.imported_by_id == by.id:
        raise AppError(
            403,
            _l(
                "The officer who imported the list cannot decide its rows: another officer "
                "of the county reviews them."
            ),
        )
    note = (data.get("note") or "").strip()[:255]
    if data["decision"] == "apply":
        person = db.session.scalar(
            visible(Person, by).where(
                Person.id == data["person_id"], Person.region_id.in_(Region.subtree_ids(county))
            )
        )
        if person is None:
            raise Invalid(errors={"person_id": [_l("Choose a person of the county's registry.")]})
        text = " ".join(t for t in (row.feed_import.source.name, row.source_text, note) if t)
        matching.apply_line(person, row.kind, row, row.import_id, by, text)
        row.status = RowStatus.APPLIED.value
        row.applied_person_id = person.id
        action = "feeds.row_applied"
    else:
        row.status = RowStatus.DISMISSED.value
        action = "feeds.row_dismissed"
    row.resolved_by_id = by.id
    row.resolved_at = utcnow()
    row.resolution_note = note
    db.session.flush()
    audit.record(
        action,
        row,
        actor=by,
        region_id=row.county_id,
        changes={
            "person_id": [None, row.applied_person_id],
            "note": [None, note],
        },
        note=_("Row %(n)s of import %(id)s", n=row.row_number, id=row.import_id),
    )
    return row
