"""A facility withdraws its application before the committee decides (or the county does it
on its behalf), with a reason, audited; a withdrawn application counts nowhere. County staff
close a round once every application in it is published, has no grade or was withdrawn."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.core.errors import AppError, Conflict
from eldercare.extensions import db
from eldercare.home.operations import summary_for
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Application
from tests.builders import build_facility, build_user
from tests.ratings.helpers import full_marks


def audit_entries(action: str) -> list[AuditLog]:
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def assessed(world, application) -> Application:
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    for assessor in application.assessors:
        ops.save_scores(application, "assessor", full_marks(application), assessor, True)
    assert application.status == "assessed"
    return application


def test_the_operator_withdraws_its_application(client, auth, world, application):
    operator = auth.login_as(world.user("operator"))
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert 'id="withdraw"' in page
    response = client.post(
        f"/ratings/applications/{application.id}/withdraw",
        data={"reason": "正在改扩建，明年再申请"},
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.status == "withdrawn" and application.withdrawn_by_id == operator.id
    assert application.withdraw_reason == "正在改扩建，明年再申请"
    assert application.withdrawn_at is not None
    [entry] = audit_entries("rating_application.withdrawn")
    assert entry.actor_id == operator.id and entry.facility_id == world.facility_a.id
    assert entry.changes == {"status": ["applied", "withdrawn"]}
    assert entry.note == "正在改扩建，明年再申请"
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert 'id="withdrawn"' in page and "正在改扩建" in page and 'id="withdraw"' not in page


def test_county_staff_withdraw_on_the_facilitys_behalf_even_once_assessed(world, application):
    staff = world.user("county_staff")
    assessed(world, application)
    ops.withdraw(application, "机构申请撤回（书面）", staff)
    assert application.status == "withdrawn" and application.withdrawn_by_id == staff.id


def test_a_reason_is_required(client, auth, world, application):
    auth.login_as(world.user("operator"))
    response = client.post(f"/ratings/applications/{application.id}/withdraw", data={"reason": " "})
    assert response.status_code == 422
    assert 'data-refused="withdraw"' in response.get_data(as_text=True)
    db.session.refresh(application)
    assert application.status == "applied"
    assert audit_entries("rating_application.withdrawn") == []


def test_who_may_withdraw(client, auth, world, application):
    other_operator = build_user("operator", facility=build_facility(world.township_a))
    auth.login_as(other_operator)
    url = f"/ratings/applications/{application.id}/withdraw"
    assert client.post(url, data={"reason": "x"}).status_code == 404
    for role in ("assessor", "township_staff", "visitor"):
        auth.login_as(world.user(role))
        assert client.post(url, data={"reason": "x"}).status_code == 403, role
    auth.login_as(build_user("county_staff", world.county_b))
    assert client.post(url, data={"reason": "x"}).status_code == 404
    with pytest.raises(AppError) as refused:
        ops.withdraw(application, "x", world.user("assessor"))
    assert refused.value.code == 403
    db.session.refresh(application)
    assert application.status == "applied"


def test_once_the_committee_decided_it_cannot_be_withdrawn(world, application):
    assessed(world, application)
    ops.decide(application, True, "", world.user("county_staff"))
    assert application.status == "in_notice"
    with pytest.raises(Conflict):
        ops.withdraw(application, "太晚了", world.user("operator"))
    ops.publish(application, None, local_today() + timedelta(days=8))
    with pytest.raises(Conflict):
        ops.withdraw(application, "太晚了", world.user("county_staff"))


def test_a_withdrawn_application_counts_nowhere(client, auth, world, application):
    staff = world.user("county_staff")
    assert summary_for(world.user("assessor"))["assignments"] == 1
    ops.withdraw(application, "暂不参评", world.user("operator"))
    # No more scores, evidence, assessors or decisions.
    with pytest.raises(Conflict):
        ops.save_scores(application, "self", {}, world.user("operator"), False)
    with pytest.raises(Conflict):
        ops.appoint_assessor(application, build_user("county_staff", world.county_a), staff)
    with pytest.raises(Conflict):
        ops.decide(application, True, "", staff)
    # Not open work for its assessors, not unfinished in its round, listed apart.
    assert ops.unfinished_in(application.round) == 0
    assert summary_for(world.user("assessor"))["assignments"] == 0
    auth.login_as(staff)
    page = client.get(f"/ratings/rounds/{application.round_id}").get_data(as_text=True)
    applications = page.split('id="applications"')[1].split("</table>")[0]
    assert world.facility_a.name not in applications
    assert world.facility_a.name in page.split('id="withdrawn"')[1]


def test_closing_a_round(client, auth, world, rnd, application):
    staff = auth.login_as(world.user("county_staff"))
    other = ops.add_application(rnd, build_facility(world.township_a, kind="nursing_home"), staff)
    url = f"/ratings/rounds/{rnd.id}/close"
    refused = client.post(url, follow_redirects=True)
    assert rnd.status == "open"
    assert "2" in refused.get_data(as_text=True).split("alert-danger")[1].split("</div>")[0]
    # One withdrawn, one with no grade: every application is finished.
    ops.withdraw(other, "暂不参评", staff)
    first_must_have = next(i for s in rnd.scheme.sections for i in s.items if i.must_have)
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    for assessor in application.assessors:
        ops.save_scores(
            application, "assessor", full_marks(application, first_must_have.code), assessor, True
        )
    ops.decide(application, True, "", staff)
    assert application.status == "no_grade"
    db.session.commit()
    page = client.get(f"/ratings/rounds/{rnd.id}").get_data(as_text=True)
    assert 'id="close-round"' in page
    assert client.post(url).status_code == 302
    db.session.refresh(rnd)
    assert rnd.status == "closed" and rnd.closed_by_id == staff.id and rnd.closed_at is not None
    [entry] = audit_entries("rating_round.closed")
    assert entry.actor_id == staff.id and entry.region_id == world.county_a.id
    page = client.get(f"/ratings/rounds/{rnd.id}").get_data(as_text=True)
    assert 'id="round-closed"' in page and 'id="close-round"' not in page
    # Closed: nothing joins, and it is not closed twice.
    with pytest.raises(Conflict):
        ops.add_application(rnd, build_facility(world.township_a, kind="nursing_home"), staff)
    assert client.post(url).status_code == 303


def test_only_county_staff_of_the_county_close_a_round(world, rnd):
    for user in (
        world.user("township_staff"),
        world.user("assessor"),
        build_user("county_staff", world.county_b),
    ):
        with pytest.raises(AppError) as refused:
            ops.close_round(rnd, user)
        assert refused.value.code == 403
    ops.close_round(rnd, world.user("admin"))
    assert rnd.status == "closed"
