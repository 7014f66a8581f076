"""Real concurrent requests on committed data: one form sent twice at once records one
visit; two visitors recording at once both count and the due date follows the later."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from eldercare.auth.sessions import start as start_session
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.visits.models import CareTarget, Visit
from tests.builders import build_person, build_user, build_world
from tests.concurrency import at_once, committed_app
from tests.visits.helpers import BEIJING, build_target, visit_form

pytestmark = pytest.mark.no_transaction


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"visit_race_{worker_id}", tmp_path) as app:
        with app.app_context():
            world = build_world()
            second = build_user("visitor", world.village_a)
            first = world.user("visitor")
            target = build_target(
                build_person(world.village_a, lives_alone=True),
                [first, second],
                local_today() - timedelta(days=30),
            )
            ids = {"target": target.id, "visitors": [start_session(first), start_session(second)]}
            db.session.commit()
        yield app, ids


def _post(app, user_id: str, target_id: int, form: dict):
    def call():
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user_id
            session["_fresh"] = True
        response = client.post(f"/visits/targets/{target_id}/visits/new", data=form)
        return response.status_code

    return call


def _visits(app, target_id: int) -> list[Visit]:
    with app.app_context():
        return db.session.scalars(sa.select(Visit).where(Visit.target_id == target_id)).all()


def test_one_form_sent_twice_at_once_records_one_visit(committed):
    app, ids = committed
    form = visit_form(client_token="5b1f0c3e-race-token")
    call = _post(app, ids["visitors"][0], ids["target"], form)
    assert at_once([call, call, call]) == [302, 302, 302]
    assert len(_visits(app, ids["target"])) == 1


def test_two_visitors_at_once_both_count(committed):
    app, ids = committed
    now = datetime.now(BEIJING)
    earlier = visit_form(now - timedelta(hours=1), client_token="first-visitor-1", summary="电话")
    later = visit_form(now - timedelta(minutes=5), client_token="second-visitor-2", summary="上门")
    results = at_once(
        [
            _post(app, ids["visitors"][0], ids["target"], earlier),
            _post(app, ids["visitors"][1], ids["target"], later),
        ]
    )
    assert results == [302, 302]
    assert len(_visits(app, ids["target"])) == 2
    latest = max(v.visited_at for v in _visits(app, ids["target"]))
    with app.app_context():
        assert db.session.get(CareTarget, ids["target"]).last_visit_at == latest
