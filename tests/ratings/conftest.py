"""Fixtures of the ratings tests: a round in county A, county A's facility in it with two
assessors appointed (the world's external assessor and a county staff member), and a
folder of its own for evidence files."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Scheme
from tests.builders import build_user


@pytest.fixture
def rnd(world):
    ops.load_shipped_schemes()
    scheme = db.session.scalar(sa.select(Scheme).where(Scheme.kind == "nursing_home"))
    world.facility_a.kind = "nursing_home"
    db.session.flush()
    return ops.open_round(
        world.county_a,
        {"year": local_today().year, "name": "年度评定", "scheme_id": scheme.id, "notice_days": 7},
        world.user("county_staff"),
    )


@pytest.fixture
def application(world, rnd):
    """County A's facility in the round; assessors: the external one and a staff member."""
    staff = world.user("county_staff")
    found = ops.add_application(rnd, world.facility_a, staff)
    ops.appoint_assessor(found, world.user("assessor"), staff)
    ops.appoint_assessor(found, build_user("county_staff", world.county_a), staff)
    return found


@pytest.fixture
def evidence_dir(app, tmp_path, monkeypatch):
    """An empty folder for this test's evidence files (to see what is left in it)."""
    folder = tmp_path / "evidence"
    monkeypatch.setitem(app.config, "RATING_EVIDENCE_DIR", str(folder))
    return folder
