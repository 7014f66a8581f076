"""Simultaneous bookings on PostgreSQL, each on a connection of its own over committed data:
the conditional UPDATE of the slot lets exactly as many through as there are places, the
lock on the relative's row gives one relative one booking at a time, and a confirm re-checks
the place under concurrency."""

from __future__ import annotations

import os
from datetime import time

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.bookings import operations as ops
from eldercare.bookings.models import Booking, Service, Slot
from eldercare.core.errors import AppError
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.people.models import Person
from tests.bookings.helpers import family_of, make_service, morning, relative, slot_start
from tests.builders import build_world
from tests.concurrency import at_once, committed_app

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.no_transaction,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: set TEST_DATABASE_URL"
    ),
]

CROWD = 50


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"booking_race_{worker_id}", tmp_path) as app:
        yield app


def _outcome(app, work):
    """Run ``work()`` in a session and connection of its own, committing; 201 when it went
    through, else the refusal's status (an unexpected error is returned, not lost)."""

    def call():
        with app.app_context():
            try:
                work()
                db.session.commit()
                return 201
            except AppError as refused:
                db.session.rollback()
                return refused.code
            except Exception as exc:
                db.session.rollback()
                return repr(exc)

    return call


def _book(app, service_id: int, person_id: int, user_id: int, starts_at, now):
    def work():
        ops.book(
            db.session.get(User, user_id),
            db.session.get(Service, service_id),
            db.session.get(Person, person_id),
            starts_at,
            {},
            now=now,
        )

    return _outcome(app, work)


def _count(app, stmt) -> int:
    with app.app_context():
        return db.session.scalar(stmt)


def test_fifty_families_at_once_on_three_places_get_three_bookings(committed):
    app = committed
    now, start = morning(), slot_start(3)
    with app.app_context():
        world = build_world()
        service = make_service(world.facility_a, capacity=3, auto_confirm=True)
        crowd = [relative(world.village_a) for _ in range(CROWD)]
        db.session.commit()
        calls = [
            _book(app, service.id, person.id, family.id, start, now) for person, family in crowd
        ]
        service_id = service.id

    results = at_once(calls)

    assert sorted(results, key=str) == [201] * 3 + [409] * (CROWD - 3), results
    with app.app_context():
        slot = db.session.scalar(sa.select(Slot).where(Slot.service_id == service_id))
        assert (slot.capacity, slot.booked) == (3, 3)
        assert ops.check_counts(slot.id) == (3, 3)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Slot)) == 1
        statuses = db.session.scalars(sa.select(Booking.status)).all()
        assert statuses == ["confirmed"] * 3
        # Only the three bookings told anyone anything.
        confirmations = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(OutboxMessage.user_id))).where(
                OutboxMessage.idempotency_key.startswith("booking-confirmed:")
            )
        )
        assert confirmations == 3


def test_two_family_members_booking_one_relative_at_once_get_one_booking(committed):
    """Ten relatives, each booked at the same moment by two of the family on two services of
    two facilities at overlapping times: every relative ends up with exactly one booking."""
    app = committed
    now = morning()
    with app.app_context():
        world = build_world()
        visits_a = make_service(world.facility_a, capacity=50)
        visits_b = make_service(
            world.facility_b, capacity=50, opens_at=time(9, 30), closes_at=time(12), name="B"
        )
        calls, people = [], []
        for _ in range(10):
            person, first = relative(world.village_a)
            second = family_of(person)
            people.append(person)
            calls.append((visits_a.id, person.id, first.id, slot_start(3, time(9))))
            calls.append((visits_b.id, person.id, second.id, slot_start(3, time(9, 30))))
        db.session.commit()
        calls = [_book(app, *args, now) for args in calls]
        person_ids = [p.id for p in people]

    results = at_once(calls)

    assert sorted(results, key=str) == [201] * 10 + [409] * 10, results
    for a, b in zip(results[::2], results[1::2], strict=True):
        assert sorted([a, b]) == [201, 409]
    with app.app_context():
        per_person = dict(
            db.session.execute(
                sa.select(Booking.person_id, sa.func.count())
                .where(Booking.status.in_(("requested", "confirmed")))
                .group_by(Booking.person_id)
            ).all()
        )
        assert per_person == dict.fromkeys(person_ids, 1)
        for slot_id in db.session.scalars(sa.select(Slot.id)):
            booked, held = ops.check_counts(slot_id)
            assert booked == held


def test_confirming_requests_at_once_on_the_last_place_confirms_one(committed):
    app = committed
    now = morning()
    with app.app_context():
        world = build_world()
        operator = world.user("operator")
        service = make_service(world.facility_a, capacity=3, auto_confirm=False)
        bookings = [
            ops.book(family, service, person, slot_start(3), {}, now=now)
            for person, family in (relative(world.village_a) for _ in range(12))
        ]
        for held in bookings[:2]:
            ops.confirm(held, operator, now=now)
        db.session.commit()
        slot_id = bookings[0].slot_id
        pending = [b.id for b in bookings[2:]]
        operator_id = operator.id

    def confirm(booking_id):
        return _outcome(
            app,
            lambda: ops.confirm(
                db.session.get(Booking, booking_id), db.session.get(User, operator_id), now=now
            ),
        )

    results = at_once([confirm(booking_id) for booking_id in pending])

    assert sorted(results, key=str) == [201] + [409] * 9, results
    with app.app_context():
        assert ops.check_counts(slot_id) == (3, 3)
        statuses = db.session.scalars(
            sa.select(Booking.status).where(Booking.id.in_(pending))
        ).all()
        assert sorted(statuses) == ["confirmed"] + ["requested"] * 9


def test_cancels_and_bookings_at_once_keep_the_counter_equal_to_the_bookings(committed):
    """Three confirmed bookings cancelled while twenty others try to book the slot: however
    they interleave, the counter is the number of confirmed bookings, at most the capacity."""
    app = committed
    now, start = morning(), slot_start(3)
    with app.app_context():
        world = build_world()
        service = make_service(world.facility_a, capacity=3)
        holders = [relative(world.village_a) for _ in range(3)]
        held = [ops.book(family, service, person, start, {}, now=now) for person, family in holders]
        crowd = [relative(world.village_a) for _ in range(20)]
        db.session.commit()
        slot_id = held[0].slot_id
        cancels = [
            _outcome(
                app,
                lambda b=b.id, u=family.id: ops.cancel(
                    db.session.get(Booking, b), db.session.get(User, u), now=now
                ),
            )
            for b, (_, family) in zip(held, holders, strict=True)
        ]
        books = [
            _book(app, service.id, person.id, family.id, start, now) for person, family in crowd
        ]

    results = at_once(cancels + books)

    assert results[:3] == [201, 201, 201], results
    assert set(results[3:]) <= {201, 409}, results
    with app.app_context():
        booked, held_now = ops.check_counts(slot_id)
        assert booked == held_now == results[3:].count(201)
        assert booked <= 3
