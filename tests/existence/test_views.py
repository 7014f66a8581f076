"""The pages: the township's list (its own area, masked names, the form for a phone), a
check recorded from it (a refusal keeps what was typed), and the county's setting with
its bounds."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import url_for

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.subsidies.existence import operations as ex
from eldercare.subsidies.existence.models import ExistenceCheck, ExistencePolicy
from tests.existence.helpers import checked_program, enrolled, enrolled_elsewhere
from tests.subsidies.helpers import make_program


def _url(app, endpoint, **values):
    with app.test_request_context():
        return url_for(endpoint, **values)


def _overdue(world, program, enrolment, days=5):
    """Move the checks' start back so that ``enrolment`` is ``days`` overdue today."""
    policy = ex.policy_of(program)
    enrolment.activated_on = local_today() - timedelta(days=370 + days)
    enrolment.start_month = enrolment.activated_on.replace(day=1)
    db.session.flush()
    return ex.next_due(enrolment, policy)


def test_township_staff_see_their_own_area_masked(app, client, auth, wide_world):
    world = wide_world
    program = checked_program(world)
    mine = enrolled(world, program)
    other = enrolled_elsewhere(world, program, world.village_a2)
    _overdue(world, program, mine)
    _overdue(world, program, other)
    auth.login_as(world.user("township_staff"))
    page = client.get(_url(app, "existence.due"))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'id="enrolment-{mine.id}"' in body
    assert f'id="enrolment-{other.id}"' not in body
    assert mine.person.name not in body  # masked
    assert mine.person.name[0] + "*" in body
    assert 'name="checked_on"' in body and 'type="date"' in body
    assert "no-store" in page.headers["Cache-Control"]

    auth.login_as(world.user("county_staff"))
    body = client.get(_url(app, "existence.due")).get_data(as_text=True)
    assert f'id="enrolment-{mine.id}"' in body and f'id="enrolment-{other.id}"' in body


def test_a_check_from_the_list(app, client, auth, world):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    _overdue(world, program, enrolment)
    auth.login_as(world.user("township_staff"))
    sent = client.post(
        _url(app, "existence.verify", id=enrolment.id),
        data={
            "checked_on": local_today().isoformat(),
            "method": "video",
            "witness": "李干部",
            "note": "视频认证",
            "back": "due",
        },
    )
    assert sent.status_code == 302 and sent.location.endswith(_url(app, "existence.due"))
    done = db.session.scalar(sa.select(ExistenceCheck))
    assert (done.method, done.witness, done.note) == ("video", "李干部", "视频认证")
    body = client.get(_url(app, "existence.due")).get_data(as_text=True)
    assert f'id="enrolment-{enrolment.id}"' not in body


def test_a_refused_check_keeps_what_was_typed(app, client, auth, world):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    auth.login_as(world.user("township_staff"))
    url = _url(app, "existence.verify", id=enrolment.id)
    future = (local_today() + timedelta(days=1)).isoformat()
    refused = client.post(
        url, data={"checked_on": future, "method": "video", "witness": "李干部", "note": "留言"}
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'value="李干部"' in body and 'value="留言"' in body and "is-invalid" in body
    too_long = client.post(
        url, data={"checked_on": local_today().isoformat(), "method": "video", "witness": "王" * 51}
    )
    assert too_long.status_code == 422
    unknown = client.post(
        url, data={"checked_on": local_today().isoformat(), "method": "phone", "witness": "王"}
    )
    assert unknown.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExistenceCheck)) == 0


def test_the_enrolment_page_shows_the_due_date_and_the_checks(app, client, auth, world):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    due = ex.next_due(enrolment, ex.policy_of(program))
    auth.login_as(world.user("township_staff"))
    body = client.get(_url(app, "existence.enrolment", id=enrolment.id)).get_data(as_text=True)
    assert due.isoformat() in body and 'id="due-on"' in body


def test_county_staff_set_a_program_within_bounds(app, client, auth, world):
    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    url = _url(app, "existence.save_policy", id=program.id)
    assert client.get(_url(app, "existence.programs")).status_code == 200
    assert client.get(_url(app, "existence.policy", id=program.id)).status_code == 200
    for bad in (
        {"interval_months": "25", "grace_days": "60"},
        {"interval_months": "0", "grace_days": "60"},
        {"interval_months": "12", "grace_days": "181"},
        {"interval_months": "12", "grace_days": "-1"},
        {"interval_months": "12", "grace_days": "60", "back_pay_reason": "late_registration"},
    ):
        refused = client.post(url, data={"active": "1", **bad})
        assert refused.status_code == 422, bad
        assert f'value="{bad["interval_months"]}"' in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(ExistencePolicy)) is None

    saved = client.post(
        url,
        data={
            "active": "1",
            "interval_months": "24",
            "grace_days": "0",
            "back_pay_reason": "out_of_contact",
        },
    )
    assert saved.status_code == 302
    policy = db.session.scalar(sa.select(ExistencePolicy))
    assert (policy.interval_months, policy.grace_days, policy.back_pay_reason) == (
        24,
        0,
        "out_of_contact",
    )
    assert policy.counted_from == local_today()
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.existence_policy_saved")
    )
    assert entry.changes["interval_months"] == [None, 24]


def test_a_facility_program_has_no_check(app, client, auth, world):
    program = make_program(
        world,
        code="YY",
        name="运营补贴",
        kind="operating_subsidy",
        basis="facility",
        rows=[{"star_levels": [1, 2], "amount_fen": 5000}],
    )
    auth.login_as(world.user("county_staff"))
    refused = client.post(
        _url(app, "existence.save_policy", id=program.id),
        data={"active": "1", "interval_months": "12", "grace_days": "60"},
    )
    assert refused.status_code == 409
