"""Authorization matrix entries for the rating scheme pages."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Scheme
from tests.authz.matrix import STAFF, Route

KEEPERS = frozenset({"admin", "county_staff"})


def _shipped() -> Scheme:
    ops.load_shipped_schemes()
    return db.session.scalar(
        sa.select(Scheme).where(Scheme.region_id.is_(None)).order_by(Scheme.code).limit(1)
    )


def _copy_for(county) -> Scheme:
    existing = db.session.scalar(sa.select(Scheme).where(Scheme.region_id == county.id))
    if existing is not None:
        return existing
    from tests.visits.helpers import admin

    return ops.copy_scheme(_shipped(), admin(), county)


def scheme(world, user):
    """In scope: the county's own copy; out of scope: the other county's copy (township
    staff of county A see county A's copies too)."""
    return _copy_for(world.county_a).id, _copy_for(world.county_b).id


def shipped(world, user):
    return _shipped().id, None


def item(world, user):
    def of(county):
        copy = _copy_for(county)
        it = next(i for s in copy.sections for i in s.items if not i.must_have)
        return {"scheme_id": copy.id, "item_id": it.id}

    return of(world.county_a), of(world.county_b)


ROUTES = [
    Route("ratings.schemes", allowed=STAFF),
    Route("ratings.scheme", allowed=STAFF, target=scheme, arg="scheme_id"),
    Route(
        "ratings.copy",
        "POST",
        allowed=KEEPERS,
        target=shipped,
        arg="scheme_id",
        data=lambda w, u: {"county_id": w.county_a.id},
        ok=(302,),
    ),
    Route(
        "ratings.update_item",
        "POST",
        allowed=KEEPERS,
        target=item,
        data=lambda w, u: {"text": "修改后的要求"},
        ok=(302,),
    ),
]
