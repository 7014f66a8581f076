"""The rating round through its pages: open, add a facility, appoint, self-assess, score,
approve, notice, publish; the result explains itself on the page."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Application, Grade, Round, Scheme
from tests.builders import build_user


def _form_for(application, must_have_failing: str | None = None) -> dict:
    form = {"action": "submit"}
    for section in application.round.scheme.sections:
        for item in section.items:
            if item.must_have:
                form[f"met-{item.id}"] = "0" if item.code == must_have_failing else "1"
            else:
                form[f"score-{item.id}"] = str(item.max_points)
    return form


def test_a_round_from_opening_to_stars(world, client, auth):
    ops.load_shipped_schemes()
    scheme = db.session.scalar(sa.select(Scheme).where(Scheme.kind == "nursing_home"))
    world.facility_a.kind = "nursing_home"
    assessor = build_user("county_staff", world.county_a, display_name="评估员甲")
    second = build_user("county_staff", world.county_a, display_name="评估员乙")
    db.session.flush()
    staff = world.user("county_staff")
    auth.login_as(staff)
    response = client.post(
        "/ratings/rounds",
        data={
            "name": "2026年度评定",
            "year": str(local_today().year),
            "scheme_id": scheme.id,
            "notice_days": "5",
            "issuing_office": "渭滨区民政局",
            "supervision_phone": "0917-3261234",
        },
    )
    assert response.status_code == 302
    rnd = db.session.scalar(sa.select(Round))
    client.post(f"/ratings/rounds/{rnd.id}/applications", data={"facility_id": world.facility_a.id})
    application = db.session.scalar(sa.select(Application))
    for person in (assessor, second):
        response = client.post(
            f"/ratings/applications/{application.id}/assessors", data={"user_id": person.id}
        )
        assert response.status_code == 302

    auth.login_as(world.user("operator"))
    page = client.get(f"/ratings/applications/{application.id}/scores/self")
    assert page.status_code == 200
    # Handing in with an item left empty is refused and keeps what was typed.
    partial = _form_for(application)
    first_scored = next(k for k in partial if k.startswith("score-"))
    partial[first_scored] = ""
    first_item = int(first_scored.split("-")[1])
    partial[f"note-{first_item}"] = "现场未见记录"
    refused = client.post(f"/ratings/applications/{application.id}/scores/self", data=partial)
    assert refused.status_code == 422
    assert "现场未见记录" in refused.get_data(as_text=True)  # what was typed is kept
    assert (
        client.post(
            f"/ratings/applications/{application.id}/scores/self", data=_form_for(application)
        ).status_code
        == 302
    )
    assert client.get(f"/ratings/applications/{application.id}/scores/assessor").status_code == 403

    for person in (assessor, second):
        auth.login_as(person)
        response = client.post(
            f"/ratings/applications/{application.id}/scores/assessor", data=_form_for(application)
        )
        assert response.status_code == 302
    # An assessor may not decide on its own scores.
    auth.login_as(assessor)
    refused = client.post(
        f"/ratings/applications/{application.id}/decision",
        data={"decision": "approve"},
        follow_redirects=True,
    )
    assert "不能审定" in refused.get_data(as_text=True)
    db.session.refresh(application)
    assert application.status == "assessed"

    auth.login_as(staff)
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert "★★★★★" in page
    client.post(f"/ratings/applications/{application.id}/decision", data={"decision": "approve"})
    db.session.refresh(application)
    assert application.status == "in_notice"
    ops.publish(application, None, local_today() + timedelta(days=6))
    grade = db.session.scalar(sa.select(Grade))
    assert grade.level == 5 and grade.facility_id == world.facility_a.id


def test_no_grade_names_the_failed_must_have(world, client, auth):
    ops.load_shipped_schemes()
    scheme = db.session.scalar(sa.select(Scheme).where(Scheme.kind == "nursing_home"))
    world.facility_a.kind = "nursing_home"
    staff = world.user("county_staff")
    rnd = ops.open_round(
        world.county_a,
        {"year": 2026, "name": "评定", "scheme_id": scheme.id, "notice_days": 7},
        staff,
    )
    application = ops.add_application(rnd, world.facility_a, staff)
    assessor = build_user("county_staff", world.county_a)
    other = build_user("county_staff", world.county_a)
    ops.appoint_assessor(application, assessor, staff)
    ops.appoint_assessor(application, other, staff)
    must = next(i for s in scheme.sections for i in s.items if i.must_have)
    auth.login_as(world.user("operator"))
    client.post(f"/ratings/applications/{application.id}/scores/self", data=_form_for(application))
    for person in (assessor, other):
        auth.login_as(person)
        client.post(
            f"/ratings/applications/{application.id}/scores/assessor",
            data=_form_for(application, must.code),
        )
    auth.login_as(staff)
    client.post(f"/ratings/applications/{application.id}/decision", data={"decision": "approve"})
    db.session.refresh(application)
    assert application.status == "no_grade"
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert "不予评级" in page or "No grade" in page
    assert f"{must.section.code}/{must.code}" in page
