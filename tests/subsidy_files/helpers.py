"""Builders for bank files and returns: an approved batch of a few people, and a bank
return written as the bank would send it."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.extensions import db
from eldercare.subsidies import bankfile
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Batch, Payment
from tests.subsidies.helpers import county_staff, enrol, make_program, person_aged

MARCH = date(2026, 3, 1)
APRIL = date(2026, 4, 1)
_names = itertools.count(1)


def colleague(world) -> User:
    """Another county staff member of county A (the second pair of eyes)."""
    return county_staff(world, f"checker{next(_names)}")


def people_batch(world, births=(date(1944, 2, 2),), program=None, period=MARCH, **kw) -> Batch:
    """A program (Shanghai's bands) with one enrolment per birth date, applied in the month
    before ``period``, and its batch for ``period`` generated and approved."""
    program = program or make_program(world, **kw)
    applied = date(period.year, period.month, 2)
    for born in births:
        enrol(world, program, person_aged(world, born), applied_on=applied)
    batch = ops.generate(program, period, world.user("county_staff")).batch
    assert ops.approve(batch, colleague(world)).approved
    return batch


def payments_of(batch: Batch) -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.batch_id == batch.id).order_by(Payment.id)
        )
    )


def exported(batch: Batch, by=None) -> Batch:
    """The batch sent to the bank (its .csv written and thrown away)."""
    import os

    file = bankfile.export(batch, "csv", by or world_staff(batch))
    os.unlink(file.path)
    return batch


def world_staff(batch: Batch) -> User:
    return db.session.scalar(sa.select(User).where(User.id == batch.made_by_id))


def return_csv(rows, header=("业务参考号", "金额（元）", "结果", "备注")) -> bytes:
    """A bank return as UTF-8 CSV: rows of (reference, yuan text, result[, note])."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8-sig")


def all_paid(batch: Batch, result: str = "成功") -> bytes:
    return return_csv(
        [(p.id, bankfile.yuan_text(p.amount_fen), result, "") for p in payments_of(batch)]
    )
