"""Authorization matrix entries for bank files, bank returns, resolutions, reversals and
reports: county staff of the county (and admins) only; another county's records are not
found."""

from __future__ import annotations

import io
import os
from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.subsidies import bankfile, reconciliation
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import Payment
from tests.authz.matrix import Route
from tests.builders import build_person, build_user
from tests.subsidies.helpers import SHANGHAI
from tests.subsidy_files.helpers import all_paid

COUNTY = frozenset({"admin", "county_staff"})
MARCH = date(2026, 3, 1)


def _cache(world) -> dict:
    if not hasattr(world, "_subsidy_files"):
        world._subsidy_files = {}
    return world._subsidy_files


def _staff(world, county):
    cache = _cache(world)
    if ("staff", county.id) not in cache:
        cache[("staff", county.id)] = (
            build_user("county_staff", county, username=f"maker{county.code}"),
            build_user("county_staff", county, username=f"checker{county.code}"),
        )
    return cache[("staff", county.id)]


def _batch(world, county, stage: str):
    """A batch of one person of ``county`` at ``stage``: approved, exported, failed (the
    bank's return said 失败) or paid. Made once per test: the matrix asks several times."""
    cache = _cache(world)
    if (county.id, stage) in cache:
        return cache[(county.id, stage)]
    maker, checker = _staff(world, county)
    code = f"M{stage[:3].upper()}"
    program = ops.create_program(
        county,
        {"code": code, "name": f"高龄津贴{code}", "kind": "age_allowance", "basis": "person"},
        maker,
    )
    ops.save_rule_table(program, date(2020, 1, 1), SHANGHAI, "", maker)
    village = world.village_a if county.id == world.county_a.id else world.village_b
    person = build_person(village, born=date(1944, 2, 2))
    enrolment = ops.apply(
        program,
        {
            "person_id": person.id,
            "applied_on": date(2026, 3, 2),
            "account_holder": person.name,
            "bank_name": "农业银行",
            "account_number": "6222021234567890123",
        },
        maker,
    )
    ops.review(enrolment, True, "", maker)
    ops.decide(enrolment, True, "", checker, today=date(2026, 3, 2))
    ops.activate(enrolment, enrolment.notice_until + timedelta(days=1))
    batch = ops.generate(program, MARCH, maker).batch
    assert ops.approve(batch, checker).approved
    if stage != "approved":
        os.unlink(bankfile.export(batch, "csv", maker).path)
    if stage in ("failed", "paid"):
        content = all_paid(batch, "失败" if stage == "failed" else "成功")
        assert reconciliation.import_return(batch, "r.csv", content, maker).ok
    db.session.flush()
    cache[(county.id, stage)] = batch
    return batch


def _batches(stage):
    def target(world, user):
        return _batch(world, world.county_a, stage).id, _batch(world, world.county_b, stage).id

    return target


def _payments(stage):
    def target(world, user):
        return tuple(
            db.session.scalar(
                sa.select(Payment.id).where(Payment.batch_id == _batch(world, county, stage).id)
            )
            for county in (world.county_a, world.county_b)
        )

    return target


def program(world, user):
    return (
        _batch(world, world.county_a, "approved").program_id,
        _batch(world, world.county_b, "approved").program_id,
    )


def _return_file(world, user):
    batch = _batch(world, world.county_a, "exported")
    return {"file": (io.BytesIO(all_paid(batch)), "return.csv")}


ROUTES = [
    Route(
        "subsidy_files.export_batch",
        allowed=COUNTY,
        target=_batches("approved"),
        extra_args={"fmt": "xlsx"},
    ),
    Route(
        "subsidy_files.import_return",
        allowed=COUNTY,
        target=_batches("exported"),
    ),
    Route(
        "subsidy_files.import_return",
        "POST",
        allowed=COUNTY,
        target=_batches("exported"),
        data=_return_file,
        ok=(302,),
    ),
    Route(
        "subsidy_files.resolve_payment",
        "POST",
        allowed=COUNTY,
        target=_payments("failed"),
        data=lambda w, u: {"resolution": "reissue"},
        ok=(302,),
    ),
    Route(
        "subsidy_files.reverse_payment",
        "POST",
        allowed=COUNTY,
        target=_payments("paid"),
        data=lambda w, u: {"reason": "重复发放"},
        ok=(302,),
    ),
    Route("subsidy_files.report", allowed=COUNTY, target=program, arg="program_id"),
    Route("subsidy_files.report_export", allowed=COUNTY, target=program, arg="program_id"),
]
