"""City-scale synthetic data (`flask demo --scale small|county|city`): 宝鸡市's regions, a
million elderly people, facilities and beds, visits, subsidies, day care and bookings,
deterministic from a seed and written in bulk (COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.core.db import local_date, utcnow
from eldercare.devtools.scale.base import CITY, SCALES, Build, Scale, ScaleError
from eldercare.devtools.scale.bulk import Loader, analyze
from eldercare.devtools.scale.crypto import Encryptor
from eldercare.extensions import db
from eldercare.people.models import Person

__all__ = ["CITY", "SCALES", "Scale", "ScaleError", "analyze", "load_scale"]


def load_scale(
    scale: str | Scale,
    seed: int = 2026,
    *,
    now: datetime | None = None,
    log: Callable[[str], None] | None = None,
) -> Build:
    """Fill an empty database with a whole city's (or a fraction's) data, as of ``now``.
    Adds and flushes; the caller commits (and then runs ``analyze``). Returns the run, with
    the rows written per table and the seconds per stage."""
    from eldercare.devtools.scale import (
        bookings,
        daycare,
        facilities,
        people,
        ratings,
        subsidies,
        users,
        visits,
    )
    from eldercare.ratings.operations import load_shipped_schemes

    if isinstance(scale, str):
        scale = SCALES[scale]
    if db.session.scalar(sa.select(User.id).limit(1)) or db.session.scalar(
        sa.select(Person.id).limit(1)
    ):
        raise ScaleError("the database already holds users or people: use an empty one")
    now = now or utcnow()
    build = Build(
        scale=scale, seed=seed, today=local_date(now), now=now, log=log or (lambda _: None)
    )
    build.loader = Loader()
    build.crypto = Encryptor(scale.people)
    stages = [
        ("regions", people.load_regions),
        ("facilities", facilities.load_facilities),
        ("people", people.load_people),
        ("users", users.load_users),
        ("beds", facilities.load_beds),
        ("visits", visits.load_visits),
        # Before the subsidies: operating subsidies of facilities are paid by star level.
        ("ratings", ratings.load_ratings),
        ("subsidies", subsidies.load_subsidies),
        ("daycare", daycare.load_daycare),
        ("bookings", bookings.load_bookings),
    ]
    try:
        for name, stage in stages:
            with build.stage(name):
                stage(build)
    finally:
        build.crypto.close()
    with build.stage("finish"):
        load_shipped_schemes()
        build.loader.fix_sequences()
        db.session.flush()
    return build
