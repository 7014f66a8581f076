"""Simultaneous admissions through the API, on committed data with real concurrent requests:
the database lets exactly one through and every other caller gets 409, never a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.auth.operations import create_token
from eldercare.beds.models import Stay
from eldercare.core.db import local_today
from eldercare.extensions import db
from tests.builders import LOW_RISKS, build_bed, build_person, build_room, build_world
from tests.concurrency import at_once, committed_app


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"bed_race_{worker_id}", tmp_path) as app:
        with app.app_context():
            world = build_world()
            room = build_room(world.facility_a)
            beds = [build_bed(room).id for _ in range(2)]
            people = [
                {"id_number": p.id_number, "name": p.name}
                for p in (build_person(world.village_a) for _ in range(20))
            ]
            secret = create_token(world.user("operator"), "race", 1)[1]
            db.session.commit()
        # Outside the setup's app context: no session of the test holds the database.
        yield app, {"Authorization": f"Bearer {secret}"}, beds, people


def _admit(app, headers, bed_id, person):
    body = person | {"admitted_on": local_today().isoformat(), "risks": LOW_RISKS}

    def call():
        response = app.test_client().post(
            f"/api/v1/beds/{bed_id}/admit", json=body, headers=headers
        )
        return response.status_code, response.get_json()

    return call


def _open_stays(app, **where) -> int:
    with app.app_context():
        stmt = sa.select(sa.func.count()).select_from(Stay).where(Stay.discharged_on.is_(None))
        for column, value in where.items():
            stmt = stmt.where(getattr(Stay, column) == value)
        return db.session.scalar(stmt)


@pytest.mark.no_transaction
def test_of_twenty_admissions_to_one_bed_exactly_one_succeeds(committed):
    app, headers, (bed_id, _), people = committed
    results = at_once([_admit(app, headers, bed_id, person) for person in people])
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, results
    assert all(body["code"] == "conflict" for status, body in results if status == 409)
    assert _open_stays(app, bed_id=bed_id) == 1


@pytest.mark.no_transaction
def test_one_person_admitted_to_two_beds_at_once_gets_one(committed):
    app, headers, bed_ids, people = committed
    results = at_once([_admit(app, headers, bed_id, people[0]) for bed_id in bed_ids])
    assert sorted(status for status, _ in results) == [201, 409], results
    assert _open_stays(app) == 1
