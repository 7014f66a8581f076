"""Authorization matrix entries for the data feeds: county staff and administrators only;
county staff see their county's imports and rows, another county's are 404."""

from __future__ import annotations

import io

from eldercare.extensions import db
from eldercare.feeds import operations as ops
from eldercare.feeds.models import FeedRow
from tests.authz.matrix import Route
from tests.builders import build_person, build_user
from tests.feeds.helpers import MAPPING, csv_bytes, death_row, upload

OFFICERS = frozenset({"admin", "county_staff"})


def _import(world, county, village, processed):
    """A list of the county by an officer of its own (not one of the acting users), with one
    row that waits for review (a name that differs from the registry's)."""
    importer = build_user("county_staff", county)
    person = build_person(village)
    feed_import = upload(importer, csv_bytes([death_row(1, person, name="别名")]))
    if processed:
        ops.process(feed_import, dict(MAPPING), importer)
    return feed_import


def _pair(processed):
    def target(world, user):
        inside = _import(world, world.county_a, world.village_a, processed)
        outside = _import(world, world.county_b, world.village_b, processed)
        return inside.id, outside.id

    return target


def _rows(world, user):
    out = []
    for county, village in ((world.county_a, world.village_a), (world.county_b, world.village_b)):
        feed_import = _import(world, county, village, True)
        out.append(
            db.session.scalar(db.select(FeedRow.id).where(FeedRow.import_id == feed_import.id))
        )
    return tuple(out)


def _upload_data(world, user):
    return {
        "kind": "death",
        "source_name": "县殡仪馆",
        "county_id": str(world.county_a.id),
        "file": (io.BytesIO(csv_bytes([death_row(1, world.person_a)])), "名单.csv"),
    }


ROUTES = [
    Route("feeds.index", allowed=OFFICERS),
    Route("feeds.upload", allowed=OFFICERS),
    Route("feeds.upload", "POST", allowed=OFFICERS, data=_upload_data, ok=(302,)),
    Route("feeds.mapping", allowed=OFFICERS, target=_pair(False), arg="import_id"),
    Route(
        "feeds.mapping",
        "POST",
        allowed=OFFICERS,
        target=_pair(False),
        arg="import_id",
        data=lambda w, u: {k: "" if v is None else str(v) for k, v in MAPPING.items()},
        ok=(302,),
    ),
    Route("feeds.show", allowed=OFFICERS, target=_pair(True), arg="import_id"),
    Route("feeds.download", allowed=OFFICERS, target=_pair(True), arg="import_id"),
    Route("feeds.review", allowed=OFFICERS),
    Route("feeds.row", allowed=OFFICERS, target=_rows, arg="row_id"),
    Route(
        "feeds.decide",
        "POST",
        allowed=OFFICERS,
        target=_rows,
        arg="row_id",
        data=lambda w, u: {"decision": "dismiss", "note": "核实无此人"},
        ok=(302,),
    ),
]
