"""The front desk's pages through the test client: one tap per action, refusals explained,
nothing typed lost on a refused form."""

from __future__ import annotations

import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.daycare.models import Attendance, Center, ClosedDay, Meal, Member
from eldercare.extensions import db
from tests.builders import build_person
from tests.daycare.helpers import make_center, make_member


def _url(facility, path: str = "") -> str:
    return f"/facilities/{facility.id}/daycare{path}"


def test_check_in_and_lunch_with_one_tap_each(world, client, auth):
    today = local_today()
    center = make_center(world.facility_a)
    member = make_member(center)
    auth.login_as(world.user("operator"))
    roster = client.get(_url(center)).get_data(as_text=True)
    assert member.person.name in roster and "签到" in roster
    tap = {"day": today.isoformat(), "person_id": member.person_id}
    assert client.post(_url(center, "/check-in"), data=tap).status_code == 302
    assert client.post(_url(center, "/meals"), data=tap | {"meal_type": "lunch"}).status_code == 302
    roster = client.get(_url(center)).get_data(as_text=True)
    assert "签退" in roster and "✓ 午餐" in roster
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meal)) == 1


def test_a_walk_in_by_id_card(world, client, auth):
    today = local_today()
    center = make_center(world.facility_a)
    stranger = build_person(world.village_b, name="过路老人")
    auth.login_as(world.user("operator"))
    form = {"day": today.isoformat(), "id_number": stranger.id_number, "name": "过路老人"}
    assert client.post(_url(center, "/check-in"), data=form).status_code == 302
    [attendance] = db.session.scalars(sa.select(Attendance)).all()
    assert attendance.walk_in and attendance.person_id == stranger.id


def test_a_walk_in_with_the_wrong_name_is_refused(world, client, auth):
    today = local_today()
    center = make_center(world.facility_a)
    stranger = build_person(world.village_b, name="过路老人")
    auth.login_as(world.user("operator"))
    wrong = {"day": today.isoformat(), "id_number": stranger.id_number, "name": "别人"}
    refused = client.post(_url(center, "/check-in"), data=wrong, follow_redirects=True)
    assert "alert-danger" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 0


def test_another_centers_member_cannot_be_named(world, client, auth):
    today = local_today()
    center = make_center(world.facility_a)
    elsewhere = make_member(make_center(world.facility_b))
    auth.login_as(world.user("operator"))
    tap = {"day": today.isoformat(), "person_id": elsewhere.person_id}
    refused = client.post(_url(center, "/check-in"), data=tap, follow_redirects=True)
    assert "alert-danger" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 0


def test_staff_see_no_dietary_notes_and_a_masked_phone(world, client, auth):
    center = make_center(world.facility_a)
    member = make_member(center, dietary_notes="吞咽困难，流食", emergency_phone="13912345678")
    auth.login_as(world.user("county_staff"))
    page = client.get(_url(center, f"/members/{member.id}")).get_data(as_text=True)
    assert "吞咽困难" not in page and "13912345678" not in page
    auth.login_as(world.user("operator"))
    page = client.get(_url(center, f"/members/{member.id}")).get_data(as_text=True)
    assert "吞咽困难" in page and "13912345678" in page


def test_a_refused_tap_says_why_and_writes_nothing(world, client, auth):
    today = local_today()
    center = make_center(world.facility_a)
    member = make_member(center)
    db.session.add(ClosedDay(facility_id=center.id, day=today, reason="停电"))
    db.session.flush()
    auth.login_as(world.user("operator"))
    response = client.post(
        _url(center, "/check-in"),
        data={"day": today.isoformat(), "person_id": member.person_id},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "这一天闭馆" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendance)) == 0


def test_a_refused_member_form_keeps_what_was_typed(world, client, auth):
    today = local_today()
    center = make_center(world.facility_a)
    person = build_person(world.village_a, name="马桂芝")
    auth.login_as(world.user("operator"))
    form = {
        "name": "马桂芝",
        "id_number": person.id_number,
        "joined_on": today.isoformat(),
        "days": ["0", "9"],
        "emergency_contact": "马小军",
        "emergency_phone": "电话号码",
    }
    response = client.post(_url(center, "/members"), data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "马小军" in page and "不是有效的星期" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == 0


def test_settings_change_the_roster(world, client, auth):
    center = make_center(world.facility_a)
    auth.login_as(world.user("operator"))
    form = {"capacity": "12", "open_days": ["5"], "meal_types": ["lunch"], "meal_price": "8.50"}
    assert client.post(_url(center, "/settings"), data=form).status_code == 302
    saved = db.session.scalar(sa.select(Center).where(Center.facility_id == center.id))
    assert (saved.capacity, saved.open_days, saved.meal_price_fen) == (12, [5], 850)
    bad = client.post(_url(center, "/settings"), data=form | {"meal_price": "十元"})
    assert bad.status_code == 422


def test_staff_read_but_do_not_act(world, client, auth):
    center = make_center(world.facility_a)
    make_member(center)
    auth.login_as(world.user("township_staff"))
    page = client.get(_url(center)).get_data(as_text=True)
    assert 'action="/facilities' not in page.split('id="roster"')[1]
    assert client.get(_url(center, "/members")).status_code == 200


def test_a_facility_without_day_care_has_no_such_pages(world, client, auth):
    auth.login_as(world.user("admin"))
    assert world.facility_b.kind == "nursing_home"
    assert client.get(_url(world.facility_b)).status_code == 404


def test_the_front_desk_counts_only_who_is_still_there(world, client, auth):
    """在站 N 人: checked in and not yet checked out; those gone home count as came today."""
    today = local_today()
    center = make_center(world.facility_a)
    stays, goes = make_member(center), make_member(center)
    auth.login_as(world.user("operator"))
    for member in (stays, goes):
        tap = {"day": today.isoformat(), "person_id": member.person_id}
        assert client.post(_url(center, "/check-in"), data=tap).status_code == 302
    gone = db.session.scalar(sa.select(Attendance).where(Attendance.person_id == goes.person_id))
    out = client.post(_url(center, f"/attendance/{gone.id}/check-out"), data={"day": today})
    assert out.status_code == 302
    page = client.get(_url(center)).get_data(as_text=True)
    assert "在站 1 人 / 名额 20" in page
    assert "今日到站 2 人" in page
