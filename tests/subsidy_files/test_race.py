"""Several county staff draw up the same batch at the same moment, each on a connection of
its own over committed data: one batch, one payment per person, however the runs interleave.
The partial unique index is what guarantees it, with or without the batch lock."""

from __future__ import annotations

import os
from datetime import date

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.extensions import db
from eldercare.subsidies import generation
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Batch, Payment, Program
from tests.builders import build_world
from tests.concurrency import at_once, committed_app
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged

PEOPLE = 40
MARCH = date(2026, 3, 1)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.no_transaction,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL: set TEST_DATABASE_URL"
    ),
]


@pytest.fixture
def committed(tmp_path, worker_id):
    with committed_app(f"subsidy_race_{worker_id}", tmp_path) as app:
        with app.app_context():
            world = build_world()
            program = make_program(world)
            for n in range(PEOPLE):
                person = person_aged(world, date(1925 + n % 30, 1 + n % 12, 1 + n % 28))
                enrol(world, program, person, applied_on=date(2026, 3, 2))
            makers = [world.user("county_staff")] + [
                county_staff(world, f"maker{n}") for n in range(3)
            ]
            db.session.commit()
            ids = (program.id, [u.id for u in makers])
        yield app, ids


def _counts(app, program_id: int) -> tuple[int, int, int]:
    with app.app_context():
        payments = db.session.scalar(
            sa.select(sa.func.count()).select_from(Payment).where(Payment.program_id == program_id)
        )
        distinct = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Payment.enrolment_id))).where(
                Payment.program_id == program_id
            )
        )
        batches = db.session.scalar(
            sa.select(sa.func.count()).select_from(Batch).where(Batch.program_id == program_id)
        )
        return payments, distinct, batches


def _generate(app, program_id: int, user_id: int):
    def call():
        with app.app_context():  # its own session and connection
            try:
                outcome = ops.generate(
                    db.session.get(Program, program_id), MARCH, db.session.get(User, user_id)
                )
                db.session.commit()
                return outcome.added
            except Exception as exc:  # reported, not lost in the thread
                return repr(exc)

    return call


def test_four_makers_at_once_draw_up_one_batch(committed):
    app, (program_id, makers) = committed
    added = at_once([_generate(app, program_id, user_id) for user_id in makers])
    assert all(isinstance(n, int) for n in added), added
    assert sum(added) == PEOPLE
    assert _counts(app, program_id) == (PEOPLE, PEOPLE, 1)


def _fill_without_lock(app, program_id: int, user_id: int):
    """Only the INSERT ... SELECT, no batch lock: the database alone must keep it right."""

    def call():
        with app.app_context():
            try:
                program = db.session.get(Program, program_id)
                batch = ops.batch_for(program, MARCH, db.session.get(User, user_id))
                added = generation.fill(batch)
                db.session.commit()
                return added
            except Exception as exc:
                return repr(exc)

    return call


def test_the_unique_index_holds_without_the_lock(committed):
    app, (program_id, makers) = committed
    added = at_once([_fill_without_lock(app, program_id, user_id) for user_id in makers * 2])
    assert all(isinstance(n, int) for n in added), added
    assert sum(added) == PEOPLE
    assert _counts(app, program_id) == (PEOPLE, PEOPLE, 1)
