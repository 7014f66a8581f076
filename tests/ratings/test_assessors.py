"""External assessors with their own accounts: bound to a county, appointed like county staff,
and seeing only the applications they are appointed to, nothing else of the platform."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.core.errors import Invalid
from eldercare.core.permissions import REGION_ROLES, STAFF_ROLES, Role, visible
from eldercare.core.templating import nav_for
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Application
from tests.builders import build_facility, build_user
from tests.ratings.helpers import full_marks


def test_the_role_is_bound_to_a_region_but_is_not_staff():
    assert Role.ASSESSOR in REGION_ROLES and Role.ASSESSOR not in STAFF_ROLES


def test_the_database_binds_an_assessor_to_a_region(world):
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        build_user("assessor")
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        build_user("assessor", world.county_a, facility=world.facility_a)


def test_external_assessors_of_the_county_are_appointed(world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    ops.appoint_assessor(application, world.user("assessor"), staff)
    assert application.assessors == [world.user("assessor")]
    choices = ops.assessor_choices(world.county_a)
    assert world.user("assessor") in choices and staff in choices
    assert world.user("township_staff") not in choices


@pytest.mark.parametrize(
    "who",
    [
        lambda w: build_user("assessor", w.county_b),  # another county's
        lambda w: build_user("assessor", w.county_a, active=False),
        lambda w: w.user("township_staff"),
        lambda w: w.user("operator"),
        lambda w: w.user("visitor"),
    ],
    ids=["other-county", "inactive", "township-staff", "operator", "visitor"],
)
def test_who_cannot_be_appointed(world, rnd, who):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    with pytest.raises(Invalid) as refused:
        ops.appoint_assessor(application, who(world), staff)
    assert list(refused.value.errors) == ["user_id"]


def test_the_appointment_page_offers_external_assessors(client, auth, world, rnd):
    staff = world.user("county_staff")
    application = ops.add_application(rnd, world.facility_a, staff)
    auth.login_as(staff)
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert f'<option value="{world.user("assessor").id}">' in page
    response = client.post(
        f"/ratings/applications/{application.id}/assessors",
        data={"user_id": world.user("assessor").id},
    )
    assert response.status_code == 302
    db.session.refresh(application)
    assert world.user("assessor") in application.assessors


def test_an_assessor_sees_only_the_applications_it_is_appointed_to(
    client, auth, world, application
):
    assessor = world.user("assessor")
    staff = world.user("county_staff")
    neighbour = ops.add_application(
        application.round, build_facility(world.township_a, kind="nursing_home"), staff
    )
    assert db.session.scalars(visible(Application, assessor)).all() == [application]
    auth.login_as(assessor)
    assert client.get(f"/ratings/applications/{application.id}").status_code == 200
    assert client.get(f"/ratings/applications/{neighbour.id}").status_code == 404
    mine = client.get("/ratings/mine").get_data(as_text=True)
    assert f'data-application="{application.id}"' in mine
    assert f'data-application="{neighbour.id}"' not in mine
    assert client.get(f"/ratings/applications/{neighbour.id}/scores/assessor").status_code == 404
    # Nothing of the round itself, its scheme or the county's other work.
    for url in (
        f"/ratings/rounds/{application.round_id}",
        "/ratings/rounds",
        f"/ratings/schemes/{application.round.scheme_id}",
        "/ratings/overview",
    ):
        assert client.get(url).status_code == 403, url


def test_an_assessor_moved_to_another_county_loses_its_old_appointments(world, application):
    assessor = world.user("assessor")
    assessor.region_id = world.county_b.id
    db.session.flush()
    db.session.expire(assessor)
    assert db.session.scalars(visible(Application, assessor)).all() == []


def test_an_external_assessor_scores_and_hands_in(client, auth, world, application):
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    auth.login_as(world.user("assessor"))
    assert client.get(f"/ratings/applications/{application.id}/scores/assessor").status_code == 200
    assert client.get(f"/ratings/applications/{application.id}/scores/self").status_code == 403
    form = {"action": "submit"}
    for section in application.round.scheme.sections:
        for item in section.items:
            key = f"met-{item.id}" if item.must_have else f"score-{item.id}"
            form[key] = "1" if item.must_have else str(item.max_points)
    response = client.post(f"/ratings/applications/{application.id}/scores/assessor", data=form)
    assert response.status_code == 302
    # The committee is county staff only, and never an assessor of the facility.
    refused = client.post(
        f"/ratings/applications/{application.id}/decision", data={"decision": "approve"}
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/people/",
        "/people/links",
        "/facilities/",
        "/regions/",
        "/visits/",
        "/visits/targets",
        "/dashboard/beds",
        "/daycare/overview",
        "/audit/",
        "/auth/users",
    ],
)
def test_nothing_else_of_the_platform(client, auth, world, url):
    auth.login_as(world.user("assessor"))
    assert client.get(url).status_code == 403


def test_the_pages_of_the_platform_an_assessor_can_use(client, auth, world, application):
    auth.login_as(world.user("assessor"))
    facility = world.facility_a
    for url in (f"/facilities/{facility.id}", f"/facilities/{facility.id}/beds"):
        assert client.get(url).status_code == 403, url
    home = client.get("/")
    assert home.status_code == 200
    assert 'id="home-assignments"' in home.get_data(as_text=True)


def test_the_navigation_shows_an_assessor_only_what_it_can_use(world):
    endpoints = [item.endpoint for item in nav_for(world.user("assessor"))]
    assert endpoints == [
        "home.index",
        "public.facilities",
        "ratings.my_applications",
        "notifications.inbox",
    ]
    assert "ratings.my_applications" not in [i.endpoint for i in nav_for(world.user("visitor"))]


def test_every_scope_fails_closed_for_an_assessor(world, app):
    """Each model's scope shows an external assessor nothing, except what is its own (its
    account, sign-ins, tokens and messages), what is public (regions, published grades) and the
    rating records of its appointments."""
    assessor = world.user("assessor")
    own_or_public = {"User", "ApiToken", "UserSession", "OutboxMessage", "Region", "Grade"}
    appointed = {"Application", "Evidence"}
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        scope = getattr(model, "__scope__", None)
        if scope is None or model.__name__ in own_or_public | appointed:
            continue
        clause = scope(assessor)
        assert clause is None or str(clause) == "false", model.__name__
    assert db.session.scalars(visible(Application, assessor)).all() == []
