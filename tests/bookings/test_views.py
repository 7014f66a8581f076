"""The family's booking pages through the test client: choose a time, book, see it listed,
download it to the phone's calendar, cancel; the facility confirms, declines, completes.
Refusals say why, keep what was typed and write nothing; nobody sees another family's
booking."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import gettext
from icalendar import Calendar
from markupsafe import escape

from eldercare.beds.models import BedStatus, Reservation
from eldercare.bookings import operations as ops
from eldercare.bookings.models import Booking, BookingStatus
from eldercare.core.db import local_zone, utcnow
from eldercare.extensions import db
from tests.bookings.authz import booking_row
from tests.bookings.helpers import family_of, make_service, slot_of, slot_start, today, written
from tests.builders import build_bed, build_person, build_room


def in_locale(client, message, **values) -> str:
    """A message as the pages show it: in the default language (Chinese), HTML-escaped."""
    with client.application.test_request_context():
        return str(escape(gettext(str(message), **values)))


def form_for(person, starts_at, **extra) -> dict:
    return {"person_id": person.id, "starts_at": starts_at.isoformat(), **extra}


def book_page(client, service, **extra):
    return client.post(f"/bookings/services/{service.id}", data=extra)


@pytest.fixture
def visits(world):
    """Visits of facility A, one place an hour, confirmed at once."""
    return make_service(world.facility_a, name="周末探视", capacity=1, price_fen=None)


@pytest.fixture
def family(world, auth):
    return auth.login_as(world.user("family"))


@pytest.fixture
def neighbour(world):
    """Another family, verified for another relative of county A."""
    person = build_person(world.village_a, name="王淑芬")
    return person, family_of(person)


def test_a_family_books_a_slot_and_finds_it_on_my_bookings(client, world, visits, family):
    start = slot_start(2)
    page = client.get(f"/bookings/services/{visits.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'value="{start.isoformat()}"' in html and "周末探视" in html
    assert world.person_a.name in html and "马营镇敬老院" in html

    response = book_page(client, visits, **form_for(world.person_a, start, note="带些水果"))
    assert response.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    assert response.location.endswith(f"/bookings/{booking.id}")
    assert booking.status == BookingStatus.CONFIRMED.value and booking.note == "带些水果"
    assert booking.starts_at == start and booking.user_id == family.id

    mine = client.get("/bookings/").get_data(as_text=True)
    upcoming = mine[mine.index('id="upcoming"') : mine.index('id="past"')]
    assert f'href="/bookings/{booking.id}"' in upcoming and "周末探视" in upcoming
    assert start.astimezone(local_zone()).strftime("%Y-%m-%d") in upcoming
    assert "09:00–10:00" in upcoming  # Beijing time, not UTC
    assert f'action="/bookings/{booking.id}/cancel"' in upcoming


def test_the_last_place_goes_to_one_family_only(client, auth, world, visits, neighbour):
    start = slot_start(2)
    auth.login_as(world.user("family"))
    assert book_page(client, visits, **form_for(world.person_a, start)).status_code == 302
    before = written()

    person, other_family = neighbour
    auth.login_as(other_family)
    refused = book_page(client, visits, **form_for(person, start, note="第二家"))
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert in_locale(client, ops.FULL) in html
    assert "第二家" in html  # what was typed is kept
    assert written() == before
    assert slot_of(visits, start).booked == 1
    # The page shows the slot as full now.
    page = client.get(f"/bookings/services/{visits.id}").get_data(as_text=True)
    radio = page[page.index(f'value="{start.isoformat()}"') :][:200]
    assert "disabled" in radio


def test_cancelling_frees_the_place_for_another_family(client, auth, world, visits, neighbour):
    start = slot_start(2)
    auth.login_as(world.user("family"))
    book_page(client, visits, **form_for(world.person_a, start))
    booking = db.session.scalar(sa.select(Booking))
    response = client.post(
        f"/bookings/{booking.id}/cancel", data={"reason": "临时出差", "next": "/bookings/"}
    )
    assert response.status_code == 302 and response.location.endswith("/bookings/")
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CANCELLED.value and booking.reason == "临时出差"
    assert slot_of(visits, start).booked == 0
    mine = client.get("/bookings/").get_data(as_text=True)
    assert f'href="/bookings/{booking.id}"' in mine[mine.index('id="past"') :]

    person, other_family = neighbour
    auth.login_as(other_family)
    assert book_page(client, visits, **form_for(person, start)).status_code == 302
    assert slot_of(visits, start).booked == 1


def test_next_must_be_a_path_of_this_site(client, world, visits, family):
    book_page(client, visits, **form_for(world.person_a, slot_start(2)))
    booking = db.session.scalar(sa.select(Booking))
    response = client.post(
        f"/bookings/{booking.id}/cancel", data={"next": "https://evil.example/phish"}
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/bookings/{booking.id}")


def test_the_calendar_file(client, world, visits, family):
    start = slot_start(2)
    book_page(client, visits, **form_for(world.person_a, start))
    booking = db.session.scalar(sa.select(Booking))
    response = client.get(f"/bookings/{booking.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert (
        response.headers["Content-Disposition"] == f"attachment; filename=booking-{booking.id}.ics"
    )
    [event] = Calendar.from_ical(response.data).walk("VEVENT")
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=1)
    assert str(event["UID"]).startswith(f"booking-{booking.id}@")
    assert str(event["STATUS"]) == "CONFIRMED"
    assert world.person_a.name in str(event["SUMMARY"])
    show = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f'href="/bookings/{booking.id}.ics"' in show


def test_an_operator_confirms_a_request(client, auth, world, family):
    service = make_service(world.facility_a, auto_confirm=False, capacity=1)
    start = slot_start(2)
    book_page(client, service, **form_for(world.person_a, start))
    booking = db.session.scalar(sa.select(Booking))
    assert booking.status == BookingStatus.REQUESTED.value
    family_page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert 'id="answer"' not in family_page and 'id="family-cancel"' in family_page

    auth.login_as(world.user("operator"))
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert f'action="/bookings/{booking.id}/confirm"' in page
    assert 'id="family-cancel"' not in page
    assert client.post(f"/bookings/{booking.id}/confirm").status_code == 302
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED.value
    assert booking.confirmed_by_id == world.user("operator").id
    assert slot_of(service, start).booked == 1
    # Confirming twice is refused with a message, and changes nothing.
    again = client.post(f"/bookings/{booking.id}/confirm", follow_redirects=True)
    assert "alert-danger" in again.get_data(as_text=True)
    assert slot_of(service, start).booked == 1


def test_an_admission_request_reserves_the_chosen_bed(client, auth, world, family):
    admission = make_service(world.facility_a, kind="admission", auto_confirm=False, name="入住")
    book_page(client, admission, **form_for(world.person_a, slot_start(2)))
    booking = db.session.scalar(sa.select(Booking))
    bed = build_bed(build_room(world.facility_a))
    elsewhere = build_bed(build_room(world.facility_b))

    auth.login_as(world.user("operator"))
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    # The bed is named by its place, then its code (not by the opaque code alone).
    assert f'<option value="{bed.id}">{bed.place_label} ({bed.code})' in page
    assert f'value="{elsewhere.id}"' not in page
    refused = client.post(f"/bookings/{booking.id}/confirm", data={"bed_id": elsewhere.id})
    assert refused.status_code == 303
    no_bed = client.post(f"/bookings/{booking.id}/confirm", follow_redirects=True)
    assert in_locale(client, "Choose the bed to reserve.") in no_bed.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.REQUESTED.value

    assert client.post(f"/bookings/{booking.id}/confirm", data={"bed_id": bed.id}).status_code == (
        302
    )
    db.session.refresh(booking)
    db.session.refresh(bed)
    reservation = db.session.get(Reservation, booking.reservation_id)
    assert booking.status == BookingStatus.CONFIRMED.value
    assert reservation.bed_id == bed.id and reservation.person_id == world.person_a.id
    assert bed.status == BedStatus.RESERVED.value


def test_a_declined_request_says_why(client, auth, world, family):
    service = make_service(world.facility_a, auto_confirm=False)
    book_page(client, service, **form_for(world.person_a, slot_start(2)))
    booking = db.session.scalar(sa.select(Booking))
    auth.login_as(world.user("operator"))
    without = client.post(f"/bookings/{booking.id}/cancel", data={"reason": ""})
    assert without.status_code == 303
    db.session.refresh(booking)
    assert booking.is_open
    client.post(f"/bookings/{booking.id}/cancel", data={"reason": "当天院内消杀"})
    auth.login_as(world.user("family"))
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "当天院内消杀" in page and 'id="family-cancel"' not in page


def test_the_operator_records_how_a_started_booking_ended(client, auth, world):
    started = booking_row(
        world.facility_a,
        world.person_a,
        world.user("family"),
        BookingStatus.CONFIRMED.value,
        utcnow() - timedelta(hours=1),
    )
    later = booking_row(
        world.facility_a, world.person_a, world.user("family"), BookingStatus.CONFIRMED.value
    )
    auth.login_as(world.user("operator"))
    assert 'id="finish-form"' not in client.get(f"/bookings/{later.id}").get_data(as_text=True)
    assert 'id="finish-form"' in client.get(f"/bookings/{started.id}").get_data(as_text=True)
    response = client.post(f"/bookings/{started.id}/finish", data={"outcome": "no_show"})
    assert response.status_code == 302
    db.session.refresh(started)
    assert started.status == BookingStatus.NO_SHOW.value
    early = client.post(f"/bookings/{later.id}/finish", data={"outcome": "completed"})
    assert early.status_code == 303
    db.session.refresh(later)
    assert later.status == BookingStatus.CONFIRMED.value


def test_another_familys_booking_is_not_found(client, auth, world, visits, neighbour):
    auth.login_as(world.user("family"))
    book_page(client, visits, **form_for(world.person_a, slot_start(2)))
    booking = db.session.scalar(sa.select(Booking))
    _person, other_family = neighbour
    auth.login_as(other_family)
    assert client.get(f"/bookings/{booking.id}").status_code == 404
    assert client.get(f"/bookings/{booking.id}.ics").status_code == 404
    assert client.post(f"/bookings/{booking.id}/cancel").status_code == 404
    assert f"/bookings/{booking.id}" not in client.get("/bookings/").get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CONFIRMED.value


def test_a_family_cannot_book_for_someone_it_is_not_verified_for(client, world, visits, family):
    before = written()
    stranger = book_page(client, visits, **form_for(world.person_b, slot_start(2)))
    missing = client.post(
        f"/bookings/services/{visits.id}",
        data={"person_id": 999_999, "starts_at": slot_start(2).isoformat()},
    )
    assert stranger.status_code == missing.status_code == 422
    message = in_locale(client, "Choose one of your verified relatives.")
    assert message in stranger.get_data(as_text=True) and message in missing.get_data(as_text=True)
    assert world.person_b.name not in stranger.get_data(as_text=True)
    assert written() == before


def test_invalid_input_is_422_and_keeps_what_was_typed(client, world, visits, family):
    before = written()
    empty = book_page(client, visits, person_id=world.person_a.id, note="记得带药")
    assert empty.status_code == 422
    html = empty.get_data(as_text=True)
    assert "记得带药" in html and "invalid-feedback" in html
    off_grid = book_page(
        client, visits, **form_for(world.person_a, slot_start(2, time(9, 30)), party_size="2")
    )
    assert off_grid.status_code == 422
    assert in_locale(client, "This is not one of the service's times.") in off_grid.get_data(
        as_text=True
    )
    too_many = book_page(client, visits, **form_for(world.person_a, slot_start(2), party_size=11))
    assert too_many.status_code == 422
    assert written() == before


def test_a_home_service_asks_where_and_not_how_many(client, world, family):
    meals = make_service(world.facility_a, kind="meal", name="送餐上门", price_fen=1500)
    page = client.get(f"/bookings/services/{meals.id}").get_data(as_text=True)
    assert 'name="place"' in page and 'name="party_size"' not in page
    assert "15.00" in page
    refused = book_page(client, meals, **form_for(world.person_a, slot_start(2)))
    assert refused.status_code == 422
    assert 'name="place"' in refused.get_data(as_text=True)
    response = book_page(
        client, meals, **form_for(world.person_a, slot_start(2), place="马营东村3组", party_size=4)
    )
    assert response.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    assert booking.place == "马营东村3组" and booking.party_size == 1


def test_the_week_shown_moves_within_the_booking_window(client, world, family):
    service = make_service(world.facility_a, max_days_ahead=10, min_notice_hours=0)
    first = client.get(f"/bookings/services/{service.id}").get_data(as_text=True)
    later = (today() + timedelta(days=7)).isoformat()
    assert f'data-day="{later}"' not in first
    assert f"start={later}" in first and 'rel="prev"' not in first
    second = client.get(f"/bookings/services/{service.id}?start={later}").get_data(as_text=True)
    assert f'data-day="{later}"' in second and 'rel="prev"' in second
    assert 'rel="next"' not in second  # day 14 is past the last day one may book
    for wrong in ("2000-01-01", (today() + timedelta(days=30)).isoformat(), "garbage"):
        page = client.get(f"/bookings/services/{service.id}?start={wrong}")
        assert page.status_code == 200
        assert f'data-day="{later}"' not in page.get_data(as_text=True)


def test_closed_days_say_so(client, world, family):
    from eldercare.bookings.models import Blackout

    service = make_service(world.facility_a)
    closed = today() + timedelta(days=3)
    db.session.add(Blackout(facility_id=world.facility_a.id, day=closed, reason="消杀"))
    db.session.flush()
    page = client.get(f"/bookings/services/{service.id}").get_data(as_text=True)
    day = page[page.index(f'data-day="{closed.isoformat()}"') :][:400]
    assert in_locale(client, "Closed for bookings on this day.") in day
    assert 'type="radio"' not in day


def test_booking_pages_need_a_family_account_and_an_open_service(client, auth, world, visits):
    anonymous = client.get(f"/bookings/services/{visits.id}")
    assert anonymous.status_code == 302
    assert "/auth/login" in anonymous.location and f"services/{visits.id}" in anonymous.location
    auth.login_as(world.user("family"))
    visits.active = False
    db.session.flush()
    assert client.get(f"/bookings/services/{visits.id}").status_code == 404
    visits.active = True
    world.facility_a.active = False
    db.session.flush()
    assert client.get(f"/bookings/services/{visits.id}").status_code == 404
    assert client.get("/bookings/services/99999999999").status_code == 404


def test_a_family_without_a_verified_relative_is_sent_to_ask_for_a_link(
    client, auth, make_user, visits
):
    auth.login_as(make_user("family"))
    page = client.get(f"/bookings/services/{visits.id}").get_data(as_text=True)
    assert 'id="no-relatives"' in page and 'href="/people/links/request"' in page
    assert 'name="starts_at"' not in page
    assert 'id="no-relatives"' in client.get("/bookings/").get_data(as_text=True)


def test_staff_read_a_booking_with_the_phone_masked(client, auth, world, visits, family):
    book_page(
        client, visits, **form_for(world.person_a, slot_start(2), contact_phone="13912345678")
    )
    booking = db.session.scalar(sa.select(Booking))
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "139****5678" in page and "13912345678" not in page
    assert "<form" not in page[page.index("<main") :]
    auth.login_as(world.user("operator"))
    assert "13912345678" in client.get(f"/bookings/{booking.id}").get_data(as_text=True)


def test_too_late_to_cancel_here(client, auth, world):
    soon = booking_row(
        world.facility_a,
        world.person_a,
        world.user("family"),
        BookingStatus.CONFIRMED.value,
        utcnow() + timedelta(hours=1),
    )
    auth.login_as(world.user("family"))
    page = client.get(f"/bookings/{soon.id}").get_data(as_text=True)
    assert f'action="/bookings/{soon.id}/cancel"' not in page
    refused = client.post(f"/bookings/{soon.id}/cancel", follow_redirects=True)
    assert "alert-danger" in refused.get_data(as_text=True)
    db.session.refresh(soon)
    assert soon.status == BookingStatus.CONFIRMED.value
