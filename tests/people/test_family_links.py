"""Family links: a family account asks, township staff verify, and only then does the family
member see a trimmed view of their own relative, until the link is revoked."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, FamilyLink, LinkStatus
from tests.people.helpers import audit_entries, count, row_counts

SECRET_NOTES = "阿尔茨海默病早期"


@pytest.fixture
def relative(world, make_person):
    """An elderly person in township A with sensitive details a family must never see."""
    person = make_person(
        world.village_a,
        name="刘淑珍",
        phone="13700001111",
        economic_status="dibao",
        lives_alone=True,
        born=date(1944, 4, 4),
    )
    db.session.add(
        AbilityAssessment(
            person=person, assessed_on=date(2025, 1, 1), level="severe", notes=SECRET_NOTES
        )
    )
    db.session.flush()
    return person


@pytest.fixture
def son(make_user):
    return make_user("family", username="liu_son", display_name="刘小军", phone="13611112222")


def request_link(client, person, name=None, number=None, relation="child"):
    return client.post(
        "/people/links/request",
        data={
            "name": name if name is not None else person.name,
            "id_number": number if number is not None else person.id_number,
            "relation": relation,
        },
    )


def link_of(user, person) -> FamilyLink | None:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(FamilyLink).where(
            FamilyLink.user_id == user.id, FamilyLink.person_id == person.id
        )
    )


def relatives(client) -> list[dict]:
    response = client.get("/api/v1/people/relatives")
    assert response.status_code == 200
    return response.get_json()


def decide(client, link, decision, note=""):
    return client.post(f"/people/links/{link.id}/decide", data={"decision": decision, "note": note})


def verified_link(client, auth, world, son, relative) -> FamilyLink:
    auth.login_as(son)
    assert request_link(client, relative).status_code == 302
    link = link_of(son, relative)
    auth.login_as(world.user("township_staff"))
    assert decide(client, link, "verified").status_code == 302
    auth.login_as(son)
    return link_of(son, relative)


# --- asking ---------------------------------------------------------------------------------


def test_request_creates_a_pending_link(client, auth, world, son, relative):
    auth.login_as(son)
    response = request_link(client, relative, name=f" {relative.name} ", relation="child")
    assert response.status_code == 302

    link = link_of(son, relative)
    assert link.status == LinkStatus.PENDING.value
    assert link.relation == "child"
    assert link.decided_by_id is None
    [entry] = audit_entries("family_link.requested", link.id)
    assert entry.actor_id == son.id
    assert entry.region_id == relative.region_id
    assert relative.id_number not in str(entry.changes) + entry.note


@pytest.mark.parametrize("mistake", ["wrong name", "unregistered number", "invalid number"])
def test_request_that_does_not_match_is_refused(client, auth, world, son, relative, mistake):
    auth.login_as(son)
    before = row_counts()
    if mistake == "wrong name":
        response = request_link(client, relative, name="刘淑芬")
    elif mistake == "unregistered number":
        from tests.builders import new_id_number

        response = request_link(client, relative, number=new_id_number())
    else:
        response = request_link(client, relative, number=relative.id_number[:17] + "Z")
    assert response.status_code == 422
    assert row_counts() == before
    page = response.get_data(as_text=True)
    # The answer must not tell a prober whom the number belongs to.
    assert relative.name not in page.replace('value="刘淑珍"', "")
    assert "alert-danger" in page


def test_wrong_name_and_unknown_number_get_the_same_answer(client, auth, world, son, relative):
    from tests.builders import new_id_number

    auth.login_as(son)
    wrong_name = request_link(client, relative, name="刘淑芬").get_data(as_text=True)
    unknown = request_link(client, relative, name="刘淑芬", number=new_id_number())
    assert unknown.status_code == 422

    def message(page):
        start = page.index('class="alert alert-danger"')
        return page[start : page.index("</div>", page.index("<div>", start) + 5)]

    assert message(wrong_name) == message(unknown.get_data(as_text=True))


@pytest.mark.parametrize("status", ["pending", "verified"])
def test_repeated_request_is_a_conflict(client, auth, world, son, relative, status):
    auth.login_as(son)
    assert request_link(client, relative).status_code == 302
    if status == "verified":
        link = link_of(son, relative)
        auth.login_as(world.user("township_staff"))
        decide(client, link, "verified")
        auth.login_as(son)
    before = row_counts()
    response = request_link(client, relative, relation="grandchild")
    assert response.status_code == 409
    assert row_counts() == before
    link = link_of(son, relative)
    assert (link.status, link.relation) == (status, "child")


def test_request_again_after_rejection(client, auth, world, son, relative):
    auth.login_as(son)
    request_link(client, relative)
    auth.login_as(world.user("township_staff"))
    assert decide(client, link_of(son, relative), "rejected", "不是亲属").status_code == 302
    assert link_of(son, relative).status == "rejected"

    auth.login_as(son)
    assert client.get(f"/people/{relative.id}").status_code == 404
    assert request_link(client, relative, relation="spouse").status_code == 302
    link = link_of(son, relative)
    assert (link.status, link.relation, link.decided_by_id) == ("pending", "spouse", None)
    assert count(FamilyLink) == 2  # the world's link and this one, re-used


def test_only_family_accounts_may_ask(client, auth, world, relative):
    auth.login_as(world.user("township_staff"))
    assert request_link(client, relative).status_code == 403
    assert client.get("/api/v1/people/relatives").status_code == 403


# --- before verification --------------------------------------------------------------------


def test_nothing_is_visible_before_verification(client, auth, world, son, relative):
    auth.login_as(son)
    request_link(client, relative)
    assert client.get(f"/people/{relative.id}").status_code == 404
    assert relatives(client) == []
    assert client.get("/api/v1/people/").status_code == 403
    assert client.get(f"/api/v1/people/{relative.id}").status_code == 403


# --- deciding -------------------------------------------------------------------------------


def test_township_staff_see_and_verify_the_request(client, auth, world, son, relative):
    auth.login_as(son)
    request_link(client, relative)
    link = link_of(son, relative)

    staff = auth.login_as(world.user("township_staff"))
    page = client.get("/people/links").get_data(as_text=True)
    assert f"/people/links/{link.id}/decide" in page
    assert "刘小军" in page and relative.name in page
    assert relative.id_number not in page
    assert relative.id_number_masked in page

    response = decide(client, link, "verified", "户口本核实")
    assert response.status_code == 302
    link = link_of(son, relative)
    assert link.status == "verified"
    assert link.decided_by_id == staff.id
    assert link.decided_at is not None
    assert link.decision_note == "户口本核实"
    [entry] = audit_entries("family_link.decided", link.id)
    assert entry.changes == {"status": ["pending", "verified"]}
    assert entry.actor_id == staff.id

    assert f"/people/links/{link.id}/decide" not in client.get("/people/links").get_data(
        as_text=True
    )
    verified_page = client.get("/people/links?status=verified").get_data(as_text=True)
    assert f"/people/links/{link.id}/decide" in verified_page


def test_county_staff_of_the_county_may_decide(client, auth, world, son, relative):
    auth.login_as(son)
    request_link(client, relative)
    auth.login_as(world.user("county_staff"))
    assert decide(client, link_of(son, relative), "verified").status_code == 302
    assert link_of(son, relative).status == "verified"


def test_staff_of_another_county_cannot_see_or_decide(
    client, auth, world, son, relative, make_user
):
    auth.login_as(son)
    request_link(client, relative)
    link = link_of(son, relative)

    for other in (
        make_user("county_staff", world.county_b),
        make_user("township_staff", world.township_b),
    ):
        auth.login_as(other)
        page = client.get("/people/links").get_data(as_text=True)
        assert f"/people/links/{link.id}/decide" not in page
        assert relative.name not in page
        assert decide(client, link, "verified").status_code == 404
        assert client.get(f"/people/{relative.id}").status_code == 404
    assert link_of(son, relative).status == "pending"
    assert audit_entries("family_link.decided") == []


def test_staff_of_another_township_cannot_decide(
    client, auth, world, son, relative, make_region, make_user
):
    auth.login_as(son)
    request_link(client, relative)
    neighbour = make_user("township_staff", make_region("610302007000", "神农镇"))
    auth.login_as(neighbour)
    assert decide(client, link_of(son, relative), "verified").status_code == 404
    assert link_of(son, relative).status == "pending"


@pytest.mark.parametrize(
    ("start", "decision"),
    [
        ("pending", "revoked"),
        ("verified", "verified"),
        ("verified", "rejected"),
        ("rejected", "verified"),
        ("revoked", "verified"),
    ],
)
def test_impossible_decisions_change_nothing(client, auth, world, son, relative, start, decision):
    link = FamilyLink(user_id=son.id, person_id=relative.id, relation="child", status=start)
    db.session.add(link)
    db.session.flush()
    auth.login_as(world.user("township_staff"))
    response = decide(client, link, decision)
    assert response.status_code == 409  # the list again, with the reason
    assert "该申请已处理。" in response.get_data(as_text=True)
    assert link_of(son, relative).status == start
    assert audit_entries("family_link.decided") == []


def test_unknown_decision_is_refused(client, auth, world, son, relative):
    auth.login_as(son)
    request_link(client, relative)
    auth.login_as(world.user("township_staff"))
    assert decide(client, link_of(son, relative), "approved").status_code == 422
    assert link_of(son, relative).status == "pending"


# --- after verification ---------------------------------------------------------------------


def test_verified_family_sees_only_name_age_and_area(client, auth, world, son, relative):
    verified_link(client, auth, world, son, relative)

    response = client.get(f"/people/{relative.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert relative.name in page
    assert f'<dd class="col-sm-9">{relative.age}</dd>' in page
    assert relative.region.full_name in page
    for secret in (
        relative.id_number,
        relative.id_number_masked,
        relative.id_number[-4:],
        relative.id_number[6:14],
        "13700001111",
        SECRET_NOTES,
    ):
        assert secret not in page, secret
    for label in (
        "最低生活保障",
        "Minimum living guarantee",
        "dibao",
        "重度失能",
        "Severely disabled",
        "1944-04-04",
        "独居",
        "Living alone",
    ):
        assert label not in page, label
    assert "reveal-id" not in page and "/edit" not in page


def test_verified_family_api_gives_the_limited_schema(client, auth, world, son, relative):
    verified_link(client, auth, world, son, relative)
    data = relatives(client)
    assert data == [
        {
            "id": relative.id,
            "name": relative.name,
            "age": relative.age,
            "region_name": relative.region.full_name,
        }
    ]


def test_verified_family_cannot_use_staff_routes(client, auth, world, son, relative):
    verified_link(client, auth, world, son, relative)
    for method, url in (
        ("GET", f"/api/v1/people/{relative.id}"),
        ("GET", f"/api/v1/people/{relative.id}/assessments"),
        ("POST", f"/api/v1/people/{relative.id}/reveal-id"),
        ("POST", f"/people/{relative.id}/reveal-id"),
        ("GET", f"/people/{relative.id}/edit"),
        ("GET", "/people/export.xlsx"),
        ("GET", "/people/links"),
    ):
        response = client.open(url, method=method)
        assert response.status_code == 403, url
        assert relative.id_number not in response.get_data(as_text=True)
    assert audit_entries("person.id_revealed") == []


def test_revoked_link_removes_access(client, auth, world, son, relative):
    link = verified_link(client, auth, world, son, relative)
    assert client.get(f"/people/{relative.id}").status_code == 200

    auth.login_as(world.user("township_staff"))
    assert decide(client, link, "revoked", "家属申请解除").status_code == 302
    assert link_of(son, relative).status == "revoked"

    auth.login_as(son)
    assert client.get(f"/people/{relative.id}").status_code == 404
    assert relatives(client) == []


def test_family_never_sees_anyone_elses_relative(
    client, auth, world, son, relative, make_user, make_person
):
    verified_link(client, auth, world, son, relative)
    # The world's family account is verified for person_a; a third family asks for person_b.
    stranger = make_user("family", username="stranger")
    auth.login_as(stranger)
    assert request_link(client, world.person_b).status_code == 302

    auth.login_as(son)
    assert [r["id"] for r in relatives(client)] == [relative.id]
    for other in (world.person_a, world.person_b, make_person(world.village_a)):
        assert client.get(f"/people/{other.id}").status_code == 404

    auth.login_as(world.user("family"))
    assert [r["id"] for r in relatives(client)] == [world.person_a.id]
    assert client.get(f"/people/{relative.id}").status_code == 404

    auth.login_as(stranger)
    assert relatives(client) == []
    assert client.get(f"/people/{world.person_b.id}").status_code == 404


def test_family_with_two_verified_relatives_sees_both(
    client, auth, world, son, relative, make_person
):
    father = make_person(world.village_b, name="刘大山")
    verified_link(client, auth, world, son, relative)
    auth.login_as(son)
    assert request_link(client, father).status_code == 302
    auth.login_as(world.user("township_staff"))  # county A staff cannot decide for county B
    assert decide(client, link_of(son, father), "verified").status_code == 404
    auth.login_as(world.user("admin"))
    assert decide(client, link_of(son, father), "verified").status_code == 302

    auth.login_as(son)
    assert {r["id"] for r in relatives(client)} == {relative.id, father.id}


def test_link_requests_are_rate_limited_per_account(client, auth, world, son, relative, make_user):
    """Each request checks a name against an ID number: a prober gets ten tries an hour."""
    auth.login_as(son)
    statuses = [request_link(client, relative, name=f"猜{i}").status_code for i in range(10)]
    assert statuses == [422] * 10
    assert request_link(client, relative).status_code == 429
    assert link_of(son, relative) is None
    assert client.get("/people/links/request").status_code == 200  # only sending counts

    # Another family account behind the same address still gets through.
    daughter = auth.login_as(make_user("family", username="liu_daughter"))
    assert request_link(client, relative).status_code == 302
    assert link_of(daughter, relative).status == "pending"


# --- the facility verifies its own residents' relatives -------------------------------------


def test_the_facility_verifies_the_relatives_of_its_residents(
    client, auth, world, son, relative, make_person
):
    from eldercare.beds.models import Stay
    from tests.builders import build_bed, build_room

    bed = build_bed(build_room(world.facility_a))
    db.session.add(
        Stay(
            bed_id=bed.id,
            facility_id=bed.facility_id,
            person_id=relative.id,
            admitted_on=date(2026, 1, 5),
        )
    )
    stranger = make_person(world.village_a, name="钱桂芳")
    db.session.flush()
    auth.login_as(son)
    assert request_link(client, relative).status_code == 302
    assert request_link(client, stranger).status_code == 302
    link, other = link_of(son, relative), link_of(son, stranger)

    auth.login_as(world.user("operator"))
    page = client.get("/people/links?status=pending").get_data(as_text=True)
    assert relative.name in page
    assert stranger.name not in page  # not cared for by this facility
    assert decide(client, other, "verified").status_code == 404
    assert decide(client, link, "verified").status_code == 302
    assert link_of(son, relative).status == LinkStatus.VERIFIED.value
    assert link_of(son, stranger).status == LinkStatus.PENDING.value
    [entry] = audit_entries("family_link.decided", link.id)
    assert entry.actor_id == world.user("operator").id
