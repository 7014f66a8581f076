"""A death or a move out of the county recorded in the registry ends the person's bookings
at once (people.life_events -> bookings.events): open bookings that have not ended are
cancelled, places given back, an admission's bed released, the facility told; the family
reads the list in the registry's one notice. The nightly repair sweep does the same for
what an event left, and finds nothing on a healthy database."""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from eldercare.beds.models import Bed
from eldercare.bookings import operations as ops
from eldercare.bookings import tasks
from eldercare.bookings.models import Booking
from eldercare.bookings.operations import lifecycle
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.core.i18n import speaking
from eldercare.extensions import db
from eldercare.people import life_events
from tests.bookings.helpers import (
    book,
    counts_agree,
    family_of,
    make_service,
    messages,
    morning,
    slot_start,
)
from tests.builders import build_bed, build_person, build_room


def _booked(world):
    """A confirmed bath in three days and an admission application accepted with a bed, for
    person A by their family."""
    bath = make_service(world.facility_a, kind="bathing", name="助浴", capacity=1)
    admission = make_service(
        world.facility_a, kind="admission", name="入住申请", slot_minutes=1440, auto_confirm=False
    )
    family = world.user("family")
    bathing = book(bath, world.person_a, family, slot_start(3), place="马营东村3组")
    applied = book(admission, world.person_a, family, slot_start(5))
    bed = build_bed(build_room(world.facility_a))
    ops.confirm(applied, world.user("operator"), bed=bed, now=morning())
    assert (bathing.status, applied.status) == ("confirmed", "confirmed")
    assert db.session.get(Bed, bed.id).status == "reserved"
    return bathing, applied, bed


def _bookings_effects(recorded):
    return [e for e in recorded.effects if e.feature == "bookings"]


def test_a_death_cancels_the_bookings_gives_places_back_and_tells_the_family_once(world):
    bathing, applied, bed = _booked(world)
    family, operator = world.user("family"), world.user("operator")
    recorded = life_events.record_death(world.person_a, local_today(), world.user("county_staff"))

    db.session.expire_all()
    assert (bathing.status, applied.status) == ("cancelled", "cancelled")
    assert bathing.reason == applied.reason == ops.DECEASED_REASON
    assert counts_agree(bathing) and counts_agree(applied)
    assert db.session.get(Bed, bed.id).status == "vacant"
    # The place is free for someone else at once.
    other = build_person(world.village_a, name="王淑珍")
    again = book(bathing.service, other, family_of(other), slot_start(3), place="马营东村5组")
    assert again.status == "confirmed"

    # The facility is told; the family gets no booking notice of its own...
    assert len(messages(operator, "booking-cancelled")) == 2
    assert not messages(family, "booking-cancelled")
    # ... but reads what was cancelled in the registry's one notice.
    (effect,) = _bookings_effects(recorded)
    day = local_today() + timedelta(days=3)
    with speaking("zh_Hans_CN"):
        family_text = str(effect.family)
        assert family_text.startswith("已取消的预约：")
        assert f"{day.month}月{day.day}日 09:00 助浴（{world.facility_a.name}）" in family_text
        assert "入住申请" in family_text
        assert str(effect.text).startswith("预约已取消，名额已释放：")
    (notice,) = [m for m in messages(family, "life-event") if m.channel == "inapp"]
    assert f"{day.month}月{day.day}日 09:00 助浴" in notice.body
    # The event keeps the staff text.
    assert ["bookings", str(effect.text)] in recorded.event.effects


def test_the_same_operation_again_changes_nothing(world):
    _booked(world)
    life_events.record_death(world.person_a, local_today(), world.user("county_staff"))
    assert ops.cancel_for_departure(world.person_a, None) == []
    assert ops.departure_effect([]) is None
    assert tasks.repair_departed() == 0
    assert len(messages(world.user("operator"), "booking-cancelled")) == 2


def test_a_move_out_of_the_county_cancels_them_too_and_says_why(world, client, auth):
    bathing, applied, bed = _booked(world)
    recorded = life_events.record_move_out(
        world.person_a, local_today(), world.user("county_staff"), destination="西安市"
    )
    db.session.expire_all()
    assert (bathing.status, applied.status) == ("cancelled", "cancelled")
    assert bathing.reason == ops.MOVED_OUT_REASON
    assert db.session.get(Bed, bed.id).status == "vacant"
    assert _bookings_effects(recorded)
    auth.login_as(world.user("family"))
    page = client.get(f"/bookings/{bathing.id}").get_data(as_text=True)
    assert "户籍迁出本县登记后，预约已取消" in page
    # Nor can the family book for them again.
    assert world.person_a not in lifecycle.bookable_relatives(world.user("family"))


def test_bookings_already_over_and_other_events_are_left_alone(world):
    visit = make_service(world.facility_a, capacity=2)
    family = world.user("family")
    yesterday_ten = slot_start(1, time(10))
    past = book(visit, world.person_a, family, yesterday_ten, now=morning() - timedelta(days=2))
    future = book(visit, world.person_a, family, slot_start(4))
    world.person_a.death_date = local_today()
    db.session.flush()
    # Two days on: the first booking has taken place (the operator records it), the other
    # is still to come.
    later = morning() + timedelta(days=2)
    assert ops.cancel_for_departure(world.person_a, None, later) == [future]
    assert past.status == "confirmed" and future.status == "cancelled"


def test_the_repair_sweep_cancels_what_an_event_left_silently_and_audits_it(world):
    bathing, applied, bed = _booked(world)
    family = world.user("family")
    assert tasks.repair_departed(morning()) == 0  # a healthy database
    # A death written around the event (an old import): the sweep finds it.
    world.person_a.death_date = local_today()
    db.session.commit()
    assert tasks.repair_departed(morning()) == 2
    db.session.expire_all()
    assert (bathing.status, applied.status) == ("cancelled", "cancelled")
    assert bathing.ended_by_id is None and bathing.reason == ops.DECEASED_REASON
    assert counts_agree(bathing) and counts_agree(applied)
    assert db.session.get(Bed, bed.id).status == "vacant"
    assert len(messages(world.user("operator"), "booking-cancelled")) == 2
    assert not messages(family, "booking-cancelled")
    notes = db.session.scalars(
        sa.select(AuditLog.note).where(
            AuditLog.action == "booking.cancelled",
            AuditLog.entity_type == "Booking",
            AuditLog.entity_id.in_([bathing.id, applied.id]),
        )
    ).all()
    assert notes == ["repair", "repair"]
    assert tasks.repair_departed(morning()) == 0


def test_the_sweep_takes_the_moved_out_too(world):
    visit = make_service(world.facility_a)
    booking = book(visit, world.person_a, world.user("family"), slot_start(3))
    world.person_a.moved_out_on = local_today()
    db.session.flush()
    assert ops.repair_departed(morning()) == 1
    assert db.session.get(Booking, booking.id).reason == ops.MOVED_OUT_REASON
