"""What happens to bookings around them: a revoked link, another relative cancelling, a
request withdrawn late, new opening hours, a death before the reminder."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from eldercare.bookings import operations as ops
from eldercare.bookings.models import LINK_REVOKED_REASON
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.people import operations as people
from eldercare.people.models import FamilyLink
from tests.bookings.helpers import (
    book,
    counts_agree,
    family_of,
    make_service,
    messages,
    morning,
    slot_start,
)


def _refusal(call) -> AppError:
    with pytest.raises(AppError) as refused:
        call()
    return refused.value


def _link(world):
    return db.session.scalar(
        db.select(FamilyLink).where(
            FamilyLink.user_id == world.user("family").id,
            FamilyLink.person_id == world.person_a.id,
        )
    )


def test_revoking_a_link_cancels_that_relatives_open_bookings_and_frees_the_place(world):
    service = make_service(world.facility_a, capacity=1)
    booking = book(service, world.person_a, world.user("family"), slot_start(3))
    people.decide_link(_link(world), "revoked", "身份不符", world.user("township_staff"))
    assert booking.status == "cancelled"
    assert booking.reason == LINK_REVOKED_REASON
    assert counts_agree(booking)
    # The place is free for a verified relative at once.
    sister = family_of(world.person_a)
    assert book(service, world.person_a, sister, slot_start(3)).status == "confirmed"
    # The facility hears of it; the former relative gets nothing more.
    assert messages(world.user("operator"), "booking-cancelled")
    assert not messages(world.user("family"), "booking-cancelled")


def test_a_facility_cannot_revoke_a_verified_link(world):
    refused = _refusal(
        lambda: people.decide_link(_link(world), "revoked", "", world.user("operator"))
    )
    assert refused.code == 403
    assert _link(world).status == "verified"


def test_the_booker_hears_when_another_relative_cancels(world):
    service = make_service(world.facility_a)
    booking = book(service, world.person_a, world.user("family"), slot_start(3))
    brother = family_of(world.person_a, display_name="张建军")
    ops.cancel(booking, brother, "改期", now=morning())
    [notice] = [
        m for m in messages(world.user("family"), "booking-cancelled") if m.channel == "inapp"
    ]
    assert "张建军" in notice.subject
    assert not messages(brother, "booking-cancelled")


def test_a_request_can_be_withdrawn_after_the_cut_off_until_it_starts(world):
    service = make_service(world.facility_a, auto_confirm=False, cancel_hours=48)
    booking = book(service, world.person_a, world.user("family"), slot_start(2))
    late = slot_start(2) - timedelta(hours=1)
    assert ops.can_cancel(booking, world.user("family"), now=late)
    ops.cancel(booking, world.user("family"), now=late)
    assert booking.status == "cancelled"


def test_a_confirmed_booking_still_cannot_be_cancelled_after_the_cut_off(world):
    service = make_service(world.facility_a, cancel_hours=48)
    booking = book(service, world.person_a, world.user("family"), slot_start(2))
    late = slot_start(2) - timedelta(hours=1)
    assert not ops.can_cancel(booking, world.user("family"), now=late)
    assert _refusal(lambda: ops.cancel(booking, world.user("family"), now=late)).code == 409


@pytest.mark.parametrize(
    "change", [{"opens_at": time(9, 30)}, {"slot_minutes": 90}, {"closes_at": time(16)}]
)
def test_the_slot_grid_cannot_change_while_bookings_to_come_are_open(world, change):
    service = make_service(world.facility_a)
    book(service, world.person_a, world.user("family"), slot_start(3))
    refused = _refusal(
        lambda: ops.save_service(world.facility_a, change, world.user("operator"), service)
    )
    assert refused.code == 409
    db.session.refresh(service)
    assert (service.opens_at, service.closes_at, service.slot_minutes) == (time(9), time(17), 60)


def test_capacity_and_price_can_change_while_bookings_are_open(world):
    service = make_service(world.facility_a)
    book(service, world.person_a, world.user("family"), slot_start(3))
    ops.save_service(
        world.facility_a, {"capacity": 5, "price_fen": 1000}, world.user("operator"), service
    )
    assert service.capacity == 5


def test_no_reminder_for_a_relative_who_died_or_a_revoked_link(world):
    service = make_service(world.facility_a, capacity=3)
    tomorrow_ten = slot_start(1, time(10))
    first = book(
        service,
        world.person_a,
        world.user("family"),
        tomorrow_ten,
        now=morning() - timedelta(days=2),
    )
    assert first.status == "confirmed"
    world.person_a.death_date = date.today()
    db.session.flush()
    assert ops.due_reminders(morning()) == 0
    world.person_a.death_date = None
    _link(world).status = "revoked"
    db.session.flush()
    assert ops.due_reminders(morning()) == 0
    _link(world).status = "verified"
    db.session.flush()
    assert ops.due_reminders(morning()) > 0
