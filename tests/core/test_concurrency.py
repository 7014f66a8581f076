"""Two clerks at once: real concurrent connections against committed data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.auth.operations import create_token
from eldercare.extensions import db
from eldercare.people.models import Person
from tests.builders import build_world, new_id_number
from tests.concurrency import at_once, committed_app


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"concurrency_{worker_id}", tmp_path) as app:
        with app.app_context():
            world = build_world()
            secrets = [
                create_token(world.user(role), "t", 1)[1]
                for role in ("county_staff", "township_staff")
            ]
            village_id = world.village_a.id
            db.session.commit()
        # Outside the setup's app context: no session of the test holds the database.
        yield app, secrets, village_id


@pytest.mark.no_transaction
def test_two_clerks_registering_the_same_person_make_one_record(committed):
    app, secrets, village_id = committed
    with app.app_context():
        number = new_id_number(area="610302")
    body = {"name": "王秀英", "id_number": number, "region_id": village_id}

    def register(secret):
        return lambda: (
            app.test_client()
            .post("/api/v1/people/", json=body, headers={"Authorization": f"Bearer {secret}"})
            .status_code
        )

    statuses = at_once([register(s) for s in secrets])
    assert sorted(statuses) == [201, 409]
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(Person).where(Person.name == "王秀英")
        )
    assert count == 1
