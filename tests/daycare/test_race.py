"""Two tablets tap "check in" for the same person at the same moment: one attendance, and the
other tablet gets the roster back with a message, never an error page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.auth.sessions import start as start_session
from eldercare.core.db import local_today
from eldercare.daycare.models import Attendance
from eldercare.extensions import db
from tests.builders import build_world
from tests.concurrency import at_once, committed_app
from tests.daycare.helpers import make_center, make_member

pytestmark = pytest.mark.no_transaction


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"daycare_race_{worker_id}", tmp_path) as app:
        with app.app_context():
            world = build_world()
            center = make_center(world.facility_a)
            member = make_member(center)
            ids = (center.id, member.person_id, start_session(world.user("operator")))
            db.session.commit()
        yield app, ids


def test_two_tablets_check_in_the_same_person(committed):
    today = local_today()
    app, (center_id, person_id, operator) = committed

    def tap():
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = operator
            session["_fresh"] = True
        response = client.post(
            f"/facilities/{center_id}/daycare/check-in",
            data={"day": today.isoformat(), "person_id": person_id},
        )
        return response.status_code

    statuses = at_once([tap, tap, tap, tap])
    assert sorted(statuses) == [302, 303, 303, 303], statuses
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 1
