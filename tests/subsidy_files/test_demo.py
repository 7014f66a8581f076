"""The demo subsidies load on a small county and tell the story they promise."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.devtools.demo import subsidies as demo
from eldercare.extensions import db
from eldercare.subsidies import reports
from eldercare.subsidies.models import Batch, Enrolment, Payment, Program
from tests.builders import build_facility, build_person, build_region
from tests.subsidy_files.helpers import colleague

TODAY = date(2026, 12, 1)
OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)


def test_the_demo_subsidies(world):
    other_village = build_region("610302001001", "东风社区")
    for n in range(14):
        village = world.village_a if n % 2 else other_village
        build_person(village, born=date(1920 + n * 3, 3, 1), economic_status="dibao")
    build_person(world.village_a, born=date(1970, 1, 1))  # too young
    build_facility(world.township_a, kind="township_home", name="马营镇中心敬老院")
    summary = demo.load_demo(
        world.county_a,
        world.user("township_staff"),
        world.user("county_staff"),
        colleague(world),
        today=TODAY,
    )
    assert "3 programs" in summary
    programs = {p.code: p for p in db.session.scalars(sa.select(Program))}
    assert set(programs) == {"GL", "HL", "YY"}
    gl = programs["GL"]
    enrolments = db.session.scalars(sa.select(Enrolment).where(Enrolment.program_id == gl.id))
    # world.person_a (born 1950) and the 14 people of 1920-1959 are all 65 and over.
    assert len(list(enrolments)) == 15
    batches = {(b.program_id, b.period): b for b in db.session.scalars(sa.select(Batch))}
    older, newer = batches[(gl.id, OCTOBER)], batches[(gl.id, NOVEMBER)]
    assert older.status == "reconciled" and newer.status == "approved"
    assert older.made_by_id != older.approved_by_id
    assert older.exported_at.date() <= older.due_on
    failed = db.session.scalars(
        sa.select(Payment).where(Payment.batch_id == older.id, Payment.status == "failed")
    ).all()
    assert len(failed) == 1 and failed[0].resolution == "reissue"
    reissued = db.session.scalars(
        sa.select(Payment).where(Payment.batch_id == newer.id, Payment.kind == "reissue")
    ).all()
    assert [p.reissue_of_id for p in reissued] == [failed[0].id]
    report = reports.build(world.county_a, gl, NOVEMBER, list(programs.values()), TODAY)
    assert report.stopped_count == 2
    # The programs come from a query without an order: find the GL program's line by itself.
    (gl_line,) = [line for line in report.punctuality if line.program.id == gl.id]
    assert gl_line.on_time == 1
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {
        "subsidies.enrolment_applied",
        "subsidies.enrolment_reviewed",
        "subsidies.enrolment_approved",
        "subsidies.enrolment_activated",
        "subsidies.batch_approved",
        "subsidies.bank_file_exported",
        "subsidies.bank_return_imported",
        "subsidies.payment_resolved",
    } <= actions
