"""Recording a check: who may, the dates and methods allowed, what is audited, and the
resumption of an enrolment suspended for want of a check (with back pay only when the
program's setting gives a listed reason)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare.beds.models import Stay
from eldercare.core.audit import AuditLog
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.extensions import db
from eldercare.subsidies import operations as ops
from eldercare.subsidies.existence.models import ExistenceCheck
from tests.builders import build_bed, build_room, build_user
from tests.existence.helpers import (
    check,
    checked_program,
    enrolled,
)

DAY = date(2026, 9, 1)


def _suspend_for_check(enrolment, by):
    """What the job does past the grace period (here by county staff, as the page would)."""
    ops.suspend(enrolment, "existence_check", date(2026, 8, 1), "", by)
    db.session.flush()


def test_township_staff_record_a_check_audited(world):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    township = world.user("township_staff")
    done = check(enrolment, township, DAY, method="video", witness="李干部", note="视频")
    assert (done.method, done.witness, done.recorded_by_id, done.resumed) == (
        "video",
        "李干部",
        township.id,
        False,
    )
    entry = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.existence_checked")
    )
    assert entry.entity_id == enrolment.id and entry.actor_id == township.id
    assert entry.changes["method"] == "video" and entry.changes["checked_on"] == "2026-09-01"


def test_staff_of_another_township_or_county_may_not(world, make_region):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    other_town = make_region("610302001000", "经二路街道")
    for user in (
        build_user("township_staff", other_town),
        build_user("county_staff", world.county_b),
        world.user("visitor"),
    ):
        with pytest.raises(AppError) as refused:
            check(enrolment, user, DAY)
        assert refused.value.code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExistenceCheck)) == 0


def test_no_check_in_the_future_nor_before_the_last(world):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    township = world.user("township_staff")
    with pytest.raises(Invalid) as future:
        check(enrolment, township, DAY + timedelta(days=1), today=DAY)
    assert "checked_on" in future.value.errors
    check(enrolment, township, DAY)
    with pytest.raises(Invalid) as earlier:
        check(enrolment, township, DAY - timedelta(days=1), today=DAY)
    assert "2026-09-01" in earlier.value.errors["checked_on"][0]
    check(enrolment, township, DAY)  # the same day again is not before it


def test_a_facility_certifies_only_its_residents(world):
    program = checked_program(world)
    enrolment = enrolled(world, program)
    township = world.user("township_staff")
    with pytest.raises(Invalid) as refused:
        check(enrolment, township, DAY, method="facility", witness="院长")
    assert "method" in refused.value.errors

    bed = build_bed(build_room(world.facility_a))
    db.session.add(
        Stay(
            bed_id=bed.id,
            facility_id=world.facility_a.id,
            person_id=enrolment.person_id,
            admitted_on=date(2026, 5, 1),
        )
    )
    db.session.flush()
    done = check(enrolment, township, DAY, method="facility", witness="院长")
    assert done.facility_id == world.facility_a.id


def test_no_check_without_a_setting_or_for_the_dead(world):
    from tests.subsidies.helpers import make_program

    bare = make_program(world, code="NB", name="无认证")
    enrolment = enrolled(world, bare)
    with pytest.raises(Conflict):
        check(enrolment, world.user("township_staff"), DAY)

    program = checked_program(world, code="GL2", name="高龄津贴二")
    dead = enrolled(world, program)
    dead.person.death_date = date(2026, 8, 1)
    db.session.flush()
    with pytest.raises(Conflict):
        check(dead, world.user("township_staff"), DAY)


def test_a_check_by_county_staff_resumes_with_back_pay_when_the_setting_says_so(world):
    program = checked_program(world, back_pay="out_of_contact")
    enrolment = enrolled(world, program)
    county = world.user("county_staff")
    _suspend_for_check(enrolment, county)
    done = check(enrolment, county, DAY)
    assert done.resumed
    assert enrolment.status == "active" and enrolment.suspend_reason is None
    assert enrolment.arrears_from <= date(2026, 8, 1)  # the suspended periods are owed
    assert enrolment.waived_from is None
    resumed = db.session.scalar(
        sa.select(AuditLog).where(AuditLog.action == "subsidies.enrolment_resumed")
    )
    assert resumed.changes["back_pay_reason"] == "out_of_contact"


def test_without_back_pay_the_suspended_periods_are_waived(world):
    program = checked_program(world, back_pay=None)
    enrolment = enrolled(world, program)
    county = world.user("county_staff")
    _suspend_for_check(enrolment, county)
    check(enrolment, county, DAY)
    assert enrolment.status == "active"
    assert enrolment.waived_from == date(2026, 8, 1)
    assert enrolment.waived_until == date(2026, 9, 1)


def test_a_suspension_for_another_reason_is_not_lifted_by_a_check(world):
    program = checked_program(world, back_pay="out_of_contact")
    enrolment = enrolled(world, program)
    county = world.user("county_staff")
    ops.suspend(enrolment, "under_review", date(2026, 8, 1), "", county)
    done = check(enrolment, county, DAY)
    assert not done.resumed
    assert (enrolment.status, enrolment.suspend_reason) == ("suspended", "under_review")


def test_a_check_by_township_staff_resumes_too(world):
    program = checked_program(world, back_pay="could_not_locate")
    enrolment = enrolled(world, program)
    _suspend_for_check(enrolment, world.user("county_staff"))
    done = check(enrolment, world.user("township_staff"), DAY)
    assert done.resumed and enrolment.status == "active"
    assert enrolment.arrears_from <= date(2026, 8, 1)
