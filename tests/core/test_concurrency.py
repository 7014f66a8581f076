"""Two clerks at once: real concurrent connections against committed data."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from eldercare import create_app
from eldercare.auth.operations import create_token
from eldercare.extensions import db
from eldercare.people.models import Person
from tests.builders import build_world, new_id_number
from tests.conftest import IsolatedClient, fresh_database_url


@pytest.fixture
def committed(tmp_path, worker_id):
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": fresh_database_url(f"concurrency_{worker_id}", tmp_path),
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        world = build_world()
        secrets = [
            create_token(world.user(role), "t", 1)[1] for role in ("county_staff", "township_staff")
        ]
        db.session.commit()
        village_id = world.village_a.id
    yield app, secrets, village_id
    with app.app_context():
        db.engine.dispose()


def _at_once(calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


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

    statuses = _at_once([register(s) for s in secrets])
    assert sorted(statuses) == [201, 409]
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(Person).where(Person.name == "王秀英")
        )
    assert count == 1
