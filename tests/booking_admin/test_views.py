"""The operator's booking pages through the test client: services defined and changed, bad
input refused with nothing written, days closed, the week's calendar and the requests to
answer; staff of the area read only, another facility's operator sees nothing."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from eldercare.bookings import operations as ops
from eldercare.bookings.models import Blackout, Booking, Service
from eldercare.core.db import local_today, local_zone
from eldercare.extensions import db
from tests.builders import build_user
from tests.visits.helpers import admin

FORM = {
    "kind": "visit",
    "name": "家属探视",
    "description": "请携带身份证",
    "price": "",
    "weekdays": ["0", "2", "4"],
    "opens_at": "09:00",
    "closes_at": "11:30",
    "slot_minutes": "30",
    "capacity": "3",
    "min_notice_hours": "12",
    "max_days_ahead": "10",
    "cancel_hours": "4",
    "auto_confirm": "1",
    "active": "1",
}


def _url(facility, path: str = "") -> str:
    return f"/facilities/{facility.id}/bookings{path}"


def _service(facility, **kw) -> Service:
    """A service open every day from 09:00 to 17:00 in hour slots, bookable from now on."""
    data = {
        "kind": "visit",
        "name": "周末探视",
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "opens_at": time(9),
        "closes_at": time(17),
        "slot_minutes": 60,
        "capacity": 2,
        "min_notice_hours": 0,
        "max_days_ahead": 14,
        "auto_confirm": True,
    }
    return ops.save_service(facility, data | kw, admin())


def _at(day, hour: int) -> datetime:
    return datetime.combine(day, time(hour), local_zone())


def _book(world, service, day, hour: int = 10, **kw) -> Booking:
    return ops.book(
        world.user("family"),
        service,
        world.person_a,
        _at(day, hour),
        {"party_size": 2, "contact_phone": "13912345678"},
        **kw,
    )


def _day_html(page: str, day) -> str:
    """The part of the calendar page that shows one day."""
    match = re.search(rf'id="day-{day.isoformat()}".*?</section>', page, re.S)
    assert match, f"{day} is not on the page"
    return match.group(0)


def _services() -> list[Service]:
    return db.session.scalars(sa.select(Service).order_by(Service.id)).all()


# --- services --------------------------------------------------------------------------------


def test_an_operator_creates_a_visit_service_that_is_then_listed(world, client, auth):
    auth.login_as(world.user("operator"))
    form = client.get(_url(world.facility_a, "/services/new")).get_data(as_text=True)
    assert 'type="time"' in form and 'name="weekdays"' in form and 'value="visit"' in form
    assert 'value="trial_day"' not in form  # a township home offers no day-care trial
    response = client.post(_url(world.facility_a, "/services/new"), data=FORM)
    assert response.status_code == 302
    [service] = _services()
    assert (service.facility_id, service.kind, service.name) == (
        world.facility_a.id,
        "visit",
        "家属探视",
    )
    assert service.weekdays == [0, 2, 4] and service.capacity == 3 and service.slot_minutes == 30
    assert (service.opens_at, service.closes_at) == (time(9), time(11, 30))
    assert service.price_fen is None and service.auto_confirm and service.active
    page = client.get(_url(world.facility_a, "/services")).get_data(as_text=True)
    assert f'id="service-{service.id}"' in page and "家属探视" in page
    assert "09:00–11:30" in page


def test_a_price_is_typed_in_yuan_and_kept_in_fen(world, client, auth):
    auth.login_as(world.user("operator"))
    data = FORM | {"kind": "meal", "name": "助餐", "price": "12.50", "auto_confirm": ""}
    assert client.post(_url(world.facility_a, "/services/new"), data=data).status_code == 302
    [service] = _services()
    assert service.price_fen == 1250 and not service.auto_confirm
    page = client.get(_url(world.facility_a, "/services")).get_data(as_text=True)
    assert "12.50" in page


def test_an_operator_changes_the_capacity_but_not_the_kind(world, client, auth):
    service = _service(world.facility_a, capacity=2, price_fen=500)
    auth.login_as(world.user("operator"))
    url = _url(world.facility_a, f"/services/{service.id}")
    form = client.get(url).get_data(as_text=True)
    assert 'value="周末探视"' in form and 'value="5.00"' in form and 'name="kind"' not in form
    data = FORM | {"name": "周末探视", "capacity": "8", "kind": "meal"}
    assert client.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert service.capacity == 8 and service.kind == "visit"
    assert service.price_fen is None  # the price field was left empty: now free


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opens_at": "14:00", "closes_at": "10:00"}, "closes_at"),
        ({"weekdays": []}, "weekdays"),
        ({"price": "-1"}, "price"),
        ({"kind": "trial_day"}, "kind"),
        ({"capacity": "0"}, "capacity"),
    ],
    ids=["closing-before-opening", "no-weekday", "negative-price", "kind-not-offered", "no-place"],
)
def test_bad_input_is_refused_with_its_error_and_writes_nothing(world, client, auth, change, field):
    auth.login_as(world.user("operator"))
    response = client.post(_url(world.facility_a, "/services/new"), data=FORM | change)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    if field == "weekdays":
        assert re.search(r'id="f-weekdays-6".*?invalid-feedback.*?id="f-opens_at"', page, re.S)
    else:
        assert re.search(rf'is-invalid"\s+id="f-{field}"', page), field
    assert 'value="家属探视"' in page  # what was typed is kept
    assert _services() == []


def test_a_bad_change_leaves_the_service_as_it_was(world, client, auth):
    service = _service(world.facility_a, capacity=2)
    auth.login_as(world.user("operator"))
    data = FORM | {"capacity": "5", "opens_at": "18:00"}
    response = client.post(_url(world.facility_a, f"/services/{service.id}"), data=data)
    assert response.status_code == 422
    db.session.expire_all()
    assert service.capacity == 2 and service.opens_at == time(9)


def test_another_facilitys_service_is_not_found_here(world, client, auth):
    elsewhere = _service(world.facility_b, kind="meal", name="外院助餐")
    auth.login_as(world.user("operator"))
    url = _url(world.facility_a, f"/services/{elsewhere.id}")
    assert client.get(url).status_code == 404
    assert client.post(url, data=FORM).status_code == 404
    db.session.expire_all()
    assert elsewhere.name == "外院助餐"


# --- blackout days -----------------------------------------------------------------------------


def test_a_day_closed_for_bookings_has_no_slots_until_it_is_reopened(world, client, auth):
    service = _service(world.facility_a)
    day = local_today() + timedelta(days=3)
    assert ops.availability(service, first=day, days=1)[0].slots
    auth.login_as(world.user("operator"))
    form = {"day": day.isoformat(), "reason": "设备检修"}
    assert client.post(_url(world.facility_a, "/blackouts"), data=form).status_code == 302
    [blackout] = db.session.scalars(sa.select(Blackout)).all()
    assert (blackout.day, blackout.reason, blackout.service_id) == (day, "设备检修", None)
    [closed] = ops.availability(service, first=day, days=1)
    assert closed.closed_reason and closed.slots == []
    page = client.get(_url(world.facility_a, "/services")).get_data(as_text=True)
    assert f'id="blackout-{blackout.id}"' in page and "设备检修" in page

    response = client.post(_url(world.facility_a, f"/blackouts/{blackout.id}/delete"))
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Blackout)).all() == []
    assert ops.availability(service, first=day, days=1)[0].slots


def test_a_day_closed_for_one_service_only(world, client, auth):
    visits = _service(world.facility_a)
    meals = _service(world.facility_a, kind="meal", name="助餐")
    day = local_today() + timedelta(days=2)
    auth.login_as(world.user("operator"))
    form = {"day": day.isoformat(), "service_id": str(meals.id)}
    assert client.post(_url(world.facility_a, "/blackouts"), data=form).status_code == 302
    assert ops.availability(meals, first=day, days=1)[0].slots == []
    assert ops.availability(visits, first=day, days=1)[0].slots


def test_a_blackout_for_another_facilitys_service_is_refused(world, client, auth):
    elsewhere = _service(world.facility_b, kind="meal", name="外院助餐")
    auth.login_as(world.user("operator"))
    form = {"day": (local_today() + timedelta(days=2)).isoformat(), "service_id": elsewhere.id}
    response = client.post(_url(world.facility_a, "/blackouts"), data=form)
    assert response.status_code == 422
    assert re.search(r'is-invalid"\s+id="f-service_id"', response.get_data(as_text=True))
    assert db.session.scalars(sa.select(Blackout)).all() == []


def test_the_same_day_twice_is_a_conflict(world, client, auth):
    day = (local_today() + timedelta(days=2)).isoformat()
    auth.login_as(world.user("operator"))
    assert client.post(_url(world.facility_a, "/blackouts"), data={"day": day}).status_code == 302
    again = client.post(_url(world.facility_a, "/blackouts"), data={"day": day, "reason": "再次"})
    assert again.status_code == 409
    assert 'value="再次"' in again.get_data(as_text=True)
    assert len(db.session.scalars(sa.select(Blackout)).all()) == 1


def test_another_facilitys_blackout_cannot_be_removed_from_here(world, client, auth):
    blackout = ops.add_blackout(world.facility_b, local_today() + timedelta(days=5), "", admin())
    auth.login_as(world.user("operator"))
    response = client.post(_url(world.facility_a, f"/blackouts/{blackout.id}/delete"))
    assert response.status_code == 404
    assert db.session.get(Blackout, blackout.id) is not None


# --- the calendar ------------------------------------------------------------------------------


def test_the_calendar_shows_a_booking_on_its_day(world, client, auth):
    service = _service(world.facility_a)
    day = local_today() + timedelta(days=2)
    booking = _book(world, service, day, hour=10)
    auth.login_as(world.user("operator"))
    page = client.get(_url(world.facility_a), query_string={"week": day.isoformat()})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    monday = day - timedelta(days=day.weekday())
    for n in range(7):  # the whole week, from Monday, whatever day was asked for
        assert f'id="day-{(monday + timedelta(days=n)).isoformat()}"' in html
    shown = _day_html(html, day)
    assert f'id="booking-{booking.id}"' in shown
    assert "10:00–11:00" in shown and "周末探视" in shown and "张秀英" in shown
    assert "13912345678" in shown and f"/bookings/{booking.id}" in shown
    for other in range(7):
        other_day = monday + timedelta(days=other)
        if other_day != day:
            assert f'id="booking-{booking.id}"' not in _day_html(html, other_day)


def test_weeks_before_and_after(world, client, auth):
    service = _service(world.facility_a)
    day = local_today() + timedelta(days=8)
    booking = _book(world, service, day)
    auth.login_as(world.user("operator"))
    this_week = client.get(_url(world.facility_a)).get_data(as_text=True)
    assert f'id="day-{local_today().isoformat()}"' in this_week
    monday = local_today() - timedelta(days=local_today().weekday())
    following = (monday + timedelta(days=7)).isoformat()
    assert f"week={following}" in this_week
    assert f"week={(monday - timedelta(days=7)).isoformat()}" in this_week
    on_day = client.get(_url(world.facility_a), query_string={"week": day.isoformat()})
    assert f'id="booking-{booking.id}"' in on_day.get_data(as_text=True)


def test_a_bad_week_falls_back_to_this_week(world, client, auth):
    auth.login_as(world.user("operator"))
    response = client.get(_url(world.facility_a), query_string={"week": "2026-13-45"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="day-{local_today().isoformat()}"' in html and "alert-warning" in html


def test_a_request_waits_on_top_with_confirm_and_decline(world, client, auth):
    service = _service(world.facility_a, auto_confirm=False)
    day = local_today() + timedelta(days=1)
    booking = _book(world, service, day, hour=15)
    assert booking.status == "requested"
    auth.login_as(world.user("operator"))
    html = client.get(_url(world.facility_a)).get_data(as_text=True)
    pending = re.search(r'id="pending".*?</section>', html, re.S)
    assert pending, "no list of requests"
    card = re.search(rf'id="request-{booking.id}".*?decline-form.*?</form>', pending.group(0), re.S)
    assert card and "张秀英" in card.group(0) and "15:00–16:00" in card.group(0)
    assert 'class="confirm-form"' in card.group(0)
    assert 'name="reason" required' in card.group(0)
    assert html.index('id="pending"') < html.index('id="week"')


def _form_of(html: str, form_class: str, booking_id: int) -> tuple[str, dict]:
    """The action and hidden fields of a booking's form on the calendar."""
    card = re.search(
        rf'id="(?:request|booking)-{booking_id}".*?class="[^"]*\b{form_class}', html, re.S
    )
    assert card, f"no {form_class} for booking {booking_id}"
    start = html.rfind("<form", 0, card.end())
    form = html[start : html.index("</form>", start)]
    action = re.search(r'action="([^"]+)"', form).group(1)
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    return action, hidden


def test_answering_requests_from_the_calendar(world, client, auth):
    service = _service(world.facility_a, auto_confirm=False, capacity=3)
    day = local_today() + timedelta(days=1)
    first = _book(world, service, day, hour=9)
    second = _book(world, service, day, hour=11)
    auth.login_as(world.user("operator"))
    html = client.get(_url(world.facility_a)).get_data(as_text=True)

    action, hidden = _form_of(html, "confirm-form", first.id)
    response = client.post(action, data=hidden)
    assert response.status_code == 302 and response.location == hidden["next"]
    assert hidden["next"].startswith(_url(world.facility_a))

    action, hidden = _form_of(html, "decline-form", second.id)
    without_reason = client.post(action, data=hidden)
    assert without_reason.status_code == 303
    declined = client.post(action, data=hidden | {"reason": "当天无空余接待人员"})
    assert declined.status_code == 302
    db.session.expire_all()
    assert (first.status, second.status) == ("confirmed", "cancelled")
    assert second.reason == "当天无空余接待人员"
    html = client.get(_url(world.facility_a)).get_data(as_text=True)
    assert 'id="pending"' not in html


def test_an_admission_request_is_accepted_on_its_page_with_a_bed(world, client, auth):
    service = _service(world.facility_a, kind="admission", name="入住申请", auto_confirm=False)
    booking = _book(world, service, local_today() + timedelta(days=1), hour=9)
    auth.login_as(world.user("operator"))
    html = client.get(_url(world.facility_a)).get_data(as_text=True)
    card = re.search(rf'id="request-{booking.id}".*?decline-form', html, re.S).group(0)
    assert "confirm-form" not in card and f'href="/bookings/{booking.id}"' in card


def test_a_booking_that_started_can_be_marked_done(world, client, auth):
    service = _service(world.facility_a)
    yesterday = local_today() - timedelta(days=1)
    booked_the_day_before = _at(yesterday, 10) - timedelta(days=1)
    booking = _book(world, service, yesterday, hour=10, now=booked_the_day_before)
    assert booking.status == "confirmed"
    auth.login_as(world.user("operator"))
    page = client.get(_url(world.facility_a), query_string={"week": yesterday.isoformat()})
    shown = _day_html(page.get_data(as_text=True), yesterday)
    assert f'id="booking-{booking.id}"' in shown
    assert 'value="completed"' in shown and 'value="no_show"' in shown
    action, hidden = _form_of(shown, "finish-form", booking.id)
    response = client.post(action, data=hidden | {"outcome": "no_show"})
    assert response.status_code == 302
    db.session.expire_all()
    assert booking.status == "no_show"


# --- who may see and do what -------------------------------------------------------------------


def test_county_staff_read_but_cannot_act(world, client, auth):
    service = _service(world.facility_a, auto_confirm=False)
    day = local_today() + timedelta(days=1)
    booking = _book(world, service, day)
    auth.login_as(world.user("county_staff"))
    calendar = client.get(_url(world.facility_a), query_string={"week": day.isoformat()})
    assert calendar.status_code == 200
    html = calendar.get_data(as_text=True)
    assert f'id="booking-{booking.id}"' in html and "张秀英" in html
    assert "decline-form" not in html and "confirm-form" not in html
    assert "13912345678" not in html and "139****5678" in html  # the family's phone is masked
    services = client.get(_url(world.facility_a, "/services")).get_data(as_text=True)
    assert "周末探视" in services and "/services/new" not in services
    day_form = {"day": (day + timedelta(days=1)).isoformat()}
    assert client.get(_url(world.facility_a, "/services/new")).status_code == 403
    assert client.post(_url(world.facility_a, "/services/new"), data=FORM).status_code == 403
    assert (
        client.post(_url(world.facility_a, f"/services/{service.id}"), data=FORM).status_code == 403
    )
    assert client.post(_url(world.facility_a, "/blackouts"), data=day_form).status_code == 403
    assert len(_services()) == 1 and db.session.scalars(sa.select(Blackout)).all() == []


def test_another_facilitys_operator_gets_not_found(world, client, auth):
    _service(world.facility_a)
    auth.login_as(build_user("operator", facility=world.facility_b))
    assert client.get(_url(world.facility_a)).status_code == 404
    assert client.get(_url(world.facility_a, "/services")).status_code == 404
    assert client.post(_url(world.facility_a, "/services/new"), data=FORM).status_code == 404
    assert (
        client.post(
            _url(world.facility_a, "/blackouts"), data={"day": local_today().isoformat()}
        ).status_code
        == 404
    )
    assert len(_services()) == 1


def test_the_menu_takes_an_operator_to_its_own_calendar(world, client, auth):
    auth.login_as(world.user("operator"))
    home = client.get("/").get_data(as_text=True)
    assert 'href="/bookings/desk"' in home
    response = client.get("/bookings/desk")
    assert response.status_code == 302
    assert response.location.endswith(_url(world.facility_a))
    auth.login_as(world.user("county_staff"))
    assert 'href="/bookings/desk"' not in client.get("/").get_data(as_text=True)
    assert client.get("/bookings/desk").status_code == 403


def test_the_facility_page_links_to_its_bookings(world, client, auth):
    for role in ("operator", "county_staff"):
        auth.login_as(world.user(role))
        page = client.get(f"/facilities/{world.facility_a.id}").get_data(as_text=True)
        assert f'href="{_url(world.facility_a)}"' in page
        assert f'href="{_url(world.facility_a, "/services")}"' in page
