"""No list page queries per row: each list page and JSON list of the application is drawn
for a small data set and for one several times larger, and must send the same number of SQL
statements (under a stated bound) both times.

Every GET route whose name looks like a list must be declared in ``PAGES`` or exempted in
``EXEMPT`` with a reason, so a new list page gets its bound too."""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
from flask import url_for

from eldercare.auth import operations as auth_ops
from eldercare.beds import operations as bed_ops
from eldercare.beds.models import Bed, Stay
from eldercare.bookings import operations as booking_ops
from eldercare.bookings.models import Service
from eldercare.core import audit
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from eldercare.notifications.operations import notify
from eldercare.people import operations as people_ops
from eldercare.people.models import FamilyLink, LinkStatus
from eldercare.ratings import operations as rating_ops
from eldercare.ratings.models import Application, Round
from eldercare.subsidies import operations as subsidy_ops
from eldercare.subsidies.models import Batch, Enrolment, Payment, Program
from eldercare.visits.models import CareTarget
from tests.bookings.helpers import book, family_of, make_service, slot_start
from tests.builders import (
    LOW_RISKS,
    World,
    build_bed,
    build_facility,
    build_person,
    build_region,
    build_room,
    build_user,
)
from tests.daycare.helpers import make_center, make_member
from tests.daycare_reports.helpers import activity, attend, incident, local, meal
from tests.existence.perf import checks_overdue, programs_with_a_check
from tests.feeds.helpers import grow_imports
from tests.querycount import count_queries
from tests.ratings.helpers import full_marks
from tests.ratings_grades.helpers import build_grade, build_round, shipped_scheme
from tests.scheduler.helpers import SWEEP, add_runs
from tests.subsidies.helpers import (
    approver_other,
    enrol,
    listed_for_recovery,
    make_program,
    person_aged,
)
from tests.subsidy_files.helpers import people_batch
from tests.visits.helpers import admin, at, build_target, record

#: Rows of what a page lists in the small and in the large data set.
SMALL, LARGE = 3, 15
_n = itertools.count(1)


@dataclass(frozen=True)
class Page:
    """A list page, who looks at it and how to give it more rows.

    ``grow(world, n)`` adds ``n`` more rows of what the page lists; ``values(world)`` gives
    the URL's parameters (and query string); ``bound`` is the most statements the page may
    send for the large data set (the session's own savepoint statements included)."""

    endpoint: str
    role: str | None  # None: an anonymous visitor
    grow: Callable[[World, int], None]
    values: Callable[[World], dict] = lambda w: {}
    bound: int = 25
    name: str = ""
    #: False when more rows change the page's figures, not its length (a week of slots).
    more_rows: bool = True
    note: str = ""  # why the bound or the check differs from the default

    def __str__(self) -> str:
        return self.name or f"{self.endpoint}[{self.role or 'anonymous'}]"


# --- builders of more rows -------------------------------------------------------------------


def people(w: World, n: int) -> None:
    for _ in range(n):
        build_person(w.village_a, name=f"老人{next(_n)}", lives_alone=True)


def townships(w: World, n: int) -> None:
    """New townships of county A, each with a village and a person (the home page of county
    staff and the region pages count people by child region)."""
    for _ in range(n):
        k = next(_n) % 900 + 100
        township = build_region(f"610302{k:03d}000", f"镇{k}")
        village = build_region(f"610302{k:03d}001", f"村{k}")
        build_person(village)
        assert township.parent_id == w.county_a.id


def villages(w: World, n: int) -> None:
    for _ in range(n):
        k = next(_n) % 800 + 100
        build_person(build_region(f"610302006{k:03d}", f"村{k}"))


def pending_links(w: World, n: int) -> None:
    for _ in range(n):
        person = build_person(w.village_a)
        user = build_user("family")
        db.session.add(FamilyLink(user_id=user.id, person_id=person.id, relation="child"))
    db.session.flush()


def relatives(w: World, n: int) -> None:
    """More relatives verified for the world's family member."""
    for _ in range(n):
        person = build_person(w.village_a)
        db.session.add(
            FamilyLink(
                user_id=w.user("family").id,
                person_id=person.id,
                relation="child",
                status=LinkStatus.VERIFIED.value,
            )
        )
    db.session.flush()


def assessments(w: World, n: int) -> None:
    today = local_today()
    for _ in range(n):
        people_ops.add_assessment(
            w.person_a,
            {"assessed_on": today - timedelta(days=1 + next(_n) % 900), "level": "mild"},
            admin(),
        )


def facilities(w: World, n: int) -> None:
    """Nursing homes of township A with a vacant and an occupied bed each."""
    for _ in range(n):
        facility = build_facility(w.township_a, name=f"养老院{next(_n)}", kind="nursing_home")
        room = build_room(facility)
        build_bed(room, care_type="nursing", price_fen=200000)
        build_bed(room, care_type="general", price_fen=150000).status = "occupied"
    db.session.flush()


def beds(w: World, n: int) -> None:
    """Beds of facility A, two rooms a floor: a third of them occupied, one reserved."""
    today = local_today()
    operator = w.user("operator")
    for i in range(n):
        floor = 1 + next(_n) % 3
        room = build_room(w.facility_a, floor=floor)
        bed = build_bed(room, care_type=("nursing", "general", "dementia")[i % 3])
        if i % 3 == 0:
            bed_ops.admit(
                bed, build_person(w.village_a), today - timedelta(days=9), LOW_RISKS, operator
            )
        elif i % 3 == 1:
            bed_ops.reserve(bed, f"预约人{i}", utcnow() + timedelta(days=3), operator)


def audit_entries(w: World, n: int) -> None:
    for _ in range(n):
        audit.record(
            "person.updated",
            w.person_a,
            actor=w.user("county_staff"),
            changes={"phone": ["", f"139{next(_n):08d}"]},
        )
    db.session.flush()


def users(w: World, n: int) -> None:
    roles = ("county_staff", "township_staff", "visitor", "operator", "family")
    for i in range(n):
        role = roles[i % len(roles)]
        region = {"county_staff": w.county_a, "township_staff": w.township_a}.get(
            role, w.village_a if role == "visitor" else None
        )
        build_user(role, region, facility=w.facility_a if role == "operator" else None)


def tokens_of(role: str):
    def grow(w: World, n: int) -> None:
        for _ in range(n):
            auth_ops.create_token(w.user(role), f"令牌{next(_n)}", 30)
        db.session.flush()

    return grow


def inbox(w: World, n: int) -> None:
    for _ in range(n):
        k = next(_n)
        notify(
            w.user("family"),
            key=f"perf:{k}",
            subject=f"通知{k}",
            body="预约已确认",
            link="/bookings/",
            channels=("inapp",),
        )


def outbox(w: World, n: int) -> None:
    for i in range(n):
        k = next(_n)
        notify(
            w.user(("family", "visitor", "operator")[i % 3]),
            key=f"perf:{k}",
            subject=f"通知{k}",
            body="提醒",
            channels=("inapp",),
        )


# bookings


def _bookable_service(w: World, auto_confirm: bool = True):
    found = db.session.scalar(
        sa.select(Service).where(
            Service.facility_id == w.facility_a.id, Service.auto_confirm.is_(auto_confirm)
        )
    )
    return found or make_service(w.facility_a, auto_confirm=auto_confirm, capacity=20)


BOOKING_DAY = 3  # days ahead: every booking of the week's calendar is on that day


def family_bookings(w: World, n: int) -> None:
    """Bookings of the world's family member for as many relatives, at hours of the day."""
    family = w.user("family")
    service = _bookable_service(w)
    for _ in range(n):
        k = next(_n)
        person = build_person(w.village_a)
        db.session.add(
            FamilyLink(
                user_id=family.id,
                person_id=person.id,
                relation="child",
                status=LinkStatus.VERIFIED.value,
            )
        )
        db.session.flush()
        book(service, person, family, slot_start(2 + k % 5, time(9 + k % 8)))


def requests(w: World, n: int) -> None:
    """Booking requests at facility A on one day, each by a family of its own."""
    service = _bookable_service(w, auto_confirm=False)
    for _ in range(n):
        k = next(_n)
        person = build_person(w.village_a)
        book(service, person, family_of(person), slot_start(BOOKING_DAY, time(9 + k % 8)))


def services(w: World, n: int) -> None:
    today = local_today()
    for i in range(n):
        service = make_service(w.facility_a, name=f"服务{next(_n)}", kind=("visit", "meal")[i % 2])
        booking_ops.add_blackout(w.facility_a, today + timedelta(days=10), "检修", admin(), service)


def calendar_week(w: World) -> dict:
    today = local_today()
    day = today + timedelta(days=BOOKING_DAY)
    return {"facility_id": w.facility_a.id, "week": day.isoformat()}


# day care


def _center(w: World):
    return make_center(w.facility_a)


def members(w: World, n: int) -> None:
    center = _center(w)
    for _ in range(n):
        make_member(center, build_person(w.village_a))


def roster(w: World, n: int) -> None:
    """Members who came today and had lunch, and a walk-in."""
    today = local_today()
    center = _center(w)
    for i in range(n):
        person = build_person(w.village_a)
        if i % 3:
            make_member(center, person)
        attend(center, person, today, walk_in=not i % 3)
        meal(center, person, today)


def activities(w: World, n: int) -> None:
    today = local_today()
    center = _center(w)
    for i in range(n):
        people_there = [build_person(w.village_a) for _ in range(2)]
        for person in people_there:
            make_member(center, person)
        activity(center, local(today - timedelta(days=i % 20), 10), people_there)


def incidents(w: World, n: int) -> None:
    today = local_today()
    center = _center(w)
    risks = ("fall", "choking", "wandering")
    for i in range(n):
        person = build_person(w.village_a)
        make_member(center, person)
        found = incident(center, local(today - timedelta(days=i % 20), 11), risks[i % 3])
        found.person_id = person.id
        found.reported_by_id = w.user("operator").id
    db.session.flush()


def month_of_attendance(w: World, n: int) -> None:
    today = local_today()
    center = _center(w)
    first = today.replace(day=1)
    for _ in range(n):
        person = build_person(w.village_a)
        make_member(center, person, joined=first - timedelta(days=40))
        attend(center, person, first)
        meal(center, person, first)


def centers(w: World, n: int) -> None:
    today = local_today()
    first = today.replace(day=1)
    for _ in range(n):
        center = make_center(build_facility(w.township_a, name=f"日照中心{next(_n)}"))
        person = build_person(w.village_a)
        attend(center, person, first)
        meal(center, person, first)


# visits


def visit_targets(w: World, n: int) -> None:
    """People visited months ago (overdue now) with a follow-up left open, and a candidate not
    yet enrolled, for each of ``n``."""
    today = local_today()
    visitor = w.user("visitor")
    for i in range(n):
        person = build_person(w.village_a, lives_alone=True, phone=f"139{next(_n):08d}")
        target = build_target(person, [visitor], today - timedelta(days=120))
        record(target, admin(), at(today - timedelta(days=95 - i % 10)), follow_up="漏水")
        build_person(w.village_a, empty_nest=True)


def previous_month() -> date:
    """The first day of the month before this one."""
    return (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)


def visited_last_month(w: World, n: int) -> None:
    """People visited in the month before this one (the month of the ledger)."""
    last_month = previous_month()
    visitor = w.user("visitor")
    for i in range(n):
        person = build_person(w.village_a, lives_alone=True)
        target = build_target(person, [visitor], last_month - timedelta(days=30))
        record(target, visitor, at(last_month + timedelta(days=i % 28)), follow_up="漏水")


def _plan_of_a(w: World):
    today = local_today()
    found = db.session.scalar(sa.select(CareTarget).where(CareTarget.person_id == w.person_a.id))
    return found or build_target(w.person_a, [w.user("visitor")], today - timedelta(days=400))


def visits_of_a(w: World, n: int) -> None:
    today = local_today()
    target = _plan_of_a(w)
    for _ in range(n):
        record(target, admin(), at(today - timedelta(days=1 + next(_n) % 300)))


# ratings


def county_schemes(w: World, n: int) -> None:
    shipped = shipped_scheme()
    for _ in range(n):
        rating_ops.copy_scheme(shipped, w.user("county_staff"), w.county_a)


def rounds(w: World, n: int) -> None:
    for _ in range(n):
        rnd = build_round(w.county_a, 2020 + next(_n) % 6)
        rating_ops.add_application(
            rnd, build_facility(w.township_a, kind="nursing_home"), w.user("county_staff")
        )


def _nursing_home_a(w: World):
    w.facility_a.kind = "nursing_home"
    db.session.flush()
    return w.facility_a


def operator_applications(w: World, n: int) -> None:
    """Facility A in ``n`` rounds, each with two assessors appointed."""
    staff = w.user("county_staff")
    facility = _nursing_home_a(w)
    for _ in range(n):
        found = rating_ops.add_application(build_round(w.county_a, 2024), facility, staff)
        rating_ops.appoint_assessor(found, w.user("assessor"), staff)
        rating_ops.appoint_assessor(found, build_user("county_staff", w.county_a), staff)


def assessor_applications(w: World, n: int) -> None:
    staff = w.user("county_staff")
    for _ in range(n):
        facility = build_facility(w.township_a, kind="nursing_home")
        found = rating_ops.add_application(build_round(w.county_a, 2024), facility, staff)
        rating_ops.appoint_assessor(found, w.user("assessor"), staff)


def _round_of_a(w: World) -> Round:
    today = local_today()
    found = db.session.scalar(sa.select(Round).where(Round.region_id == w.county_a.id))
    return found or build_round(w.county_a, today.year, "本年度评定")


def round_applications(w: World, n: int) -> None:
    staff = w.user("county_staff")
    rnd = _round_of_a(w)
    for i in range(n):
        facility = build_facility(w.township_a, kind="nursing_home", name=f"参评养老院{next(_n)}")
        found = rating_ops.add_application(rnd, facility, staff)
        rating_ops.appoint_assessor(found, w.user("assessor"), staff)
        if i % 4 == 3:
            rating_ops.withdraw(found, "整改中", staff)
        build_facility(w.township_a, kind="nursing_home")  # a candidate not in the round yet


def round_values(w: World) -> dict:
    return {"round_id": _round_of_a(w).id}


def results_in_notice(w: World, n: int) -> None:
    staff = w.user("county_staff")
    rnd = _round_of_a(w)
    rnd.issuing_office, rnd.supervision_phone = "渭滨区民政局", "0917-3261234"
    for _ in range(n):
        facility = build_facility(w.township_a, kind="nursing_home", name=f"公示养老院{next(_n)}")
        found = rating_ops.add_application(rnd, facility, staff)
        second = build_user("county_staff", w.county_a)
        for assessor in (w.user("assessor"), second):
            rating_ops.appoint_assessor(found, assessor, staff)
        operator = build_user("operator", facility=facility)
        rating_ops.save_scores(found, "self", full_marks(found), operator, True)
        for assessor in (w.user("assessor"), second):
            rating_ops.save_scores(found, "assessor", full_marks(found), assessor, True)
        rating_ops.decide(found, True, "", staff)


def graded_facilities(w: World, n: int) -> None:
    for i in range(n):
        town = w.township_a if i % 2 else w.township_a2
        facility = build_facility(town, kind=("nursing_home", "day_care")[i % 2])
        build_grade(facility, i % 5 + 1, date(2025, 1, 1))
        build_grade(facility, 5 - i % 5, date(2023, 1, 1), date(2025, 1, 1))


# subsidies


def _program(w: World) -> Program:
    found = db.session.scalar(sa.select(Program).where(Program.region_id == w.county_a.id))
    return found or make_program(w)


def programs(w: World, n: int) -> None:
    for _ in range(n):
        make_program(w, code=f"P{next(_n)}", name=f"津贴{next(_n)}")


def enrolments(w: World, n: int) -> None:
    today = local_today()
    program = _program(w)
    for _ in range(n):
        person = person_aged(w, date(1944, 2, 2))
        enrol(w, program, person, applied_on=today - timedelta(days=40))


def _in_notice(program: Program, subject: dict, registrar, approver) -> None:
    """An application registered, reviewed and approved: in its public notice."""
    today = local_today()
    data = {
        **subject,
        "applied_on": today,
        "account_kind": "bank",
        "bank_name": "农业银行",
        "account_holder": "户名",
        "account_number": "6222021234567890123",
    }
    found = subsidy_ops.apply(program, data, registrar)
    subsidy_ops.review(found, True, "", registrar)
    subsidy_ops.decide(found, True, "", approver, today=today)


def people_in_notice(w: World, n: int) -> None:
    """People's applications in notice, each person assessed (the rule reads the level)."""
    program = _program(w)
    township, county = w.user("township_staff"), w.user("county_staff")
    for i in range(n):
        person = person_aged(w, date(1944 - i % 20, 2, 2))
        assessed = {"assessed_on": date(2024, 5, 1), "level": "mild"}
        people_ops.add_assessment(person, assessed, county)
        _in_notice(program, {"person_id": person.id}, township, county)


def _facility_program(w: World) -> Program:
    found = db.session.scalar(sa.select(Program).where(Program.code == "YY"))
    return found or make_program(
        w,
        code="YY",
        name="运营补贴",
        kind="operating_subsidy",
        basis="facility",
        rows=[
            {"star_levels": [1, 2], "amount_fen": 5000},
            {"star_levels": [3, 4, 5], "amount_fen": 10000},
        ],
    )


def facilities_in_notice(w: World, n: int) -> None:
    """Facilities' applications in notice, each facility rated (the rule reads the stars)."""
    program = _facility_program(w)
    county = w.user("county_staff")
    registrar = approver_other(w, county)
    for i in range(n):
        facility = build_facility(w.township_a, kind="nursing_home")
        build_grade(facility, i % 5 + 1, date(2025, 1, 1))
        _in_notice(program, {"facility_id": facility.id}, registrar, county)


def candidates(w: World, n: int) -> None:
    """People who turn 65 (the program's lowest age) this month."""
    today = local_today()
    _program(w)
    born = today.replace(year=today.year - 65, day=1)
    for i in range(n):
        build_person(w.village_a if i % 2 else w.village_a2, born=born + timedelta(days=i % 28))


def batches(w: World, n: int) -> None:
    """A batch for each of ``n`` earlier months, each with a payment."""
    program = _program(w)
    staff = w.user("county_staff")
    enrol(w, program, person_aged(w, date(1944, 2, 2)), applied_on=date(2024, 1, 2))
    have = db.session.scalar(
        sa.select(sa.func.count()).select_from(Batch).where(Batch.program_id == program.id)
    )
    for k in range(have, have + n):
        period = date(2024 + (k + 1) // 12, (k + 1) % 12 + 1, 1)
        subsidy_ops.generate(program, period, staff)


def payments(w: World, n: int) -> None:
    """More people paid in the batch of March 2026 (some held for a missing account)."""
    program = _program(w)
    for i in range(n):
        enrol(w, program, person_aged(w, date(1944 - i % 20, 2, 2)), applied_on=date(2026, 1, 2))
    subsidy_ops.generate(program, date(2026, 3, 1), w.user("county_staff"))


def batch_values(w: World) -> dict:
    return {"id": db.session.scalar(sa.select(Batch.id).where(Batch.program_id == _program(w).id))}


def paid_months(w: World, n: int) -> None:
    """People paid for some months (approved batches), for the report's lists."""
    program = _program(w)
    staff = w.user("county_staff")
    for i in range(n):
        person = person_aged(w, date(1944 - i % 20, 2, 2))
        enrol(w, program, person, applied_on=date(2026, 1, 2))
    for month in (1, 2, 3):
        subsidy_ops.generate(program, date(2026, month, 1), staff)


def dashboard_data(w: World, n: int) -> None:
    """Facilities with beds, rated facilities, people visited, day-care centers and subsidy
    programs in county A."""
    facilities(w, n)
    graded_facilities(w, n)
    visit_targets(w, n)
    centers(w, n)
    programs(w, n)


# pages of one record that list what belongs to it


def record_of_a(w: World, n: int) -> None:
    """Person A's assessments and the family members who asked to be linked to her."""
    assessments(w, n)
    for _ in range(n):
        user = build_user("family")
        db.session.add(FamilyLink(user_id=user.id, person_id=w.person_a.id, relation="child"))
    db.session.flush()


def relative_a(w: World, n: int) -> None:
    """What person A's family sees: a subsidy of each of ``n`` programs paid for March,
    visits and bookings."""
    staff = w.user("county_staff")
    for _ in range(n):
        program = make_program(w, code=f"F{next(_n)}", name=f"津贴{next(_n)}")
        enrol(w, program, w.person_a, applied_on=date(2026, 1, 2))
        batch = subsidy_ops.generate(program, date(2026, 3, 1), staff).batch
        assert subsidy_ops.approve(batch, build_user("county_staff", w.county_a)).approved
    visits_of_a(w, n)
    service = _bookable_service(w)
    booked = len(booking_ops.bookings_of_person(w.person_a))
    for k in range(booked, booked + n):  # one after the other, eight a day
        book(service, w.person_a, w.user("family"), slot_start(2 + k // 8, time(9 + k % 8)))


def grade_history(w: World, n: int) -> None:
    for _ in range(n):
        year = 1990 + next(_n) % 35
        build_grade(w.facility_a, year % 5 + 1, date(year, 1, 1), date(year + 1, 1, 1))


def _history_bed(w: World):
    found = db.session.scalar(sa.select(Bed).where(Bed.facility_id == w.facility_a.id))
    return found or build_bed(build_room(w.facility_a))


def bed_history(w: World, n: int) -> None:
    """Residents who came and went, one after the other, and a reservation released."""
    today = local_today()
    bed = _history_bed(w)
    operator = w.user("operator")
    done = db.session.scalar(
        sa.select(sa.func.count()).select_from(Stay).where(Stay.bed_id == bed.id)
    )
    for k in range(done, done + n):
        day = today - timedelta(days=200 - 4 * k)
        stay = bed_ops.admit(bed, build_person(w.village_a), day, LOW_RISKS, operator)
        bed_ops.start_leave(stay, day, "住院", operator)
        bed_ops.end_leave(stay, day + timedelta(days=1), operator)
        bed_ops.discharge(stay, day + timedelta(days=2), "home", operator)
        bed_ops.reserve(bed, f"预约人{next(_n)}", utcnow() + timedelta(days=3), operator)
        bed_ops.release_reservation(bed, operator)


def bed_values(w: World) -> dict:
    return {"facility_id": w.facility_a.id, "bed_id": _history_bed(w).id}


def follow_ups_of_a(w: World, n: int) -> None:
    today = local_today()
    target = _plan_of_a(w)
    for _ in range(n):
        when = at(today - timedelta(days=1 + next(_n) % 300))
        record(target, w.user("visitor"), when, follow_up="漏水", summary="屋顶漏水")


def _enrolment_of_a(w: World):
    found = db.session.scalar(sa.select(Enrolment).where(Enrolment.person_id == w.person_a.id))
    return found or enrol(w, _program(w), w.person_a, applied_on=date(2024, 1, 2))


def paid_enrolment(w: World, n: int) -> None:
    """Person A paid for ``n`` more months, and her yearly reviews recorded."""
    today = local_today()
    enrolment = _enrolment_of_a(w)
    program = enrolment.program
    staff = w.user("county_staff")
    for _ in range(n):
        k = db.session.scalar(
            sa.select(sa.func.count()).select_from(Batch).where(Batch.program_id == program.id)
        )
        subsidy_ops.generate(program, date(2024 + (k + 1) // 12, (k + 1) % 12 + 1, 1), staff)
        subsidy_ops.record_review(enrolment, "复核", w.user("township_staff"), today=today)


def rule_tables(w: World, n: int) -> None:
    """More versions of the program's amounts, a year apart."""
    program = _program(w)
    for _ in range(n):
        year = 2000 + next(_n) % 20
        rows = [{"min_age": 70 + i, "max_age": 70 + i, "amount_fen": 100 * year} for i in range(3)]
        subsidy_ops.save_rule_table(program, date(year, 1, 1), rows, "", w.user("county_staff"))


def facility_a_offer(w: World, n: int) -> None:
    """Facility A's services, beds of each care type and its past grades."""
    for i in range(n):
        make_service(w.facility_a, name=f"服务{next(_n)}", kind=("visit", "meal", "bathing")[i % 3])
        room = build_room(w.facility_a)
        build_bed(room, care_type=("nursing", "general", "dementia")[i % 3], price_fen=1000 * i)
    grade_history(w, n)


def _application_of_a(w: World) -> Application:
    found = db.session.scalar(
        sa.select(Application).where(Application.facility_id == w.facility_a.id)
    )
    if found is None:
        found = rating_ops.add_application(_round_of_a(w), _nursing_home_a(w), admin())
        rating_ops.save_scores(found, "self", full_marks(found), w.user("operator"), True)
    return found


def assessors_scores(w: World, n: int) -> None:
    """More assessors appointed to facility A's application, each with scores saved."""
    application = _application_of_a(w)
    for _ in range(n):
        assessor = build_user("county_staff", w.county_a)
        rating_ops.appoint_assessor(application, assessor, w.user("county_staff"))
        rating_ops.save_scores(application, "assessor", full_marks(application), assessor, False)


def _returned_batch(w: World) -> Batch:
    found = db.session.scalar(sa.select(Batch).where(Batch.status == "approved"))
    return found or people_batch(w, births=[date(1944 - i, 2, 2) for i in range(LARGE)])


def failed_payments(w: World, n: int) -> None:
    """``n`` more payments of the batch came back from the bank as failed."""
    batch = _returned_batch(w)
    arrived = db.session.scalars(
        sa.select(Payment)
        .where(Payment.batch_id == batch.id, Payment.status == "approved")
        .order_by(Payment.id)
        .limit(n)
    ).all()
    for payment in arrived:
        payment.status = "failed"
        payment.bank_note = "账户已销户"
    db.session.flush()


def bank_file_batches(w: World, n: int) -> None:
    """An approved batch of the next month with ``n`` more people (and everyone before)."""
    program = _program(w)
    months = db.session.scalar(
        sa.select(sa.func.count()).select_from(Batch).where(Batch.program_id == program.id)
    )
    births = [date(1944 - i % 20, 2, 2) for i in range(n)]
    people_batch(w, births=births, program=program, period=date(2026, 3 + months, 1))


def latest_batch(w: World) -> dict:
    return {"id": db.session.scalar(sa.select(sa.func.max(Batch.id))), "fmt": "xlsx"}


def week_of_bookings(w: World, n: int) -> None:
    """Bookings by other families in the week the booking page shows."""
    service = _bookable_service(w)
    for _ in range(n):
        k = next(_n)
        person = build_person(w.village_a)
        book(service, person, family_of(person), slot_start(2 + k % 5, time(9 + k % 8)))


# --- the declared list pages ---------------------------------------------------------------

STAFF = "county_staff"


def facility_a(w: World) -> dict:
    return {"facility_id": w.facility_a.id}


PAGES: list[Page] = [
    # home pages, one per kind of summary
    Page("home.index", "county_staff", townships, name="home.index[county_staff]"),
    Page("home.index", "township_staff", visit_targets, name="home.index[township_staff]"),
    Page("home.index", "family", relatives, name="home.index[family]"),
    Page("home.index", "assessor", assessor_applications, name="home.index[assessor]"),
    # registry
    Page("people.index", STAFF, people),
    Page("people.export", STAFF, people),
    Page("people.links", STAFF, pending_links),
    Page("api_people.list_people", STAFF, people),
    Page("api_people.my_relatives", "family", relatives),
    Page(
        "api_people.list_assessments",
        STAFF,
        assessments,
        lambda w: {"person_id": w.person_a.id},
    ),
    # facilities and beds
    Page("facilities.index", STAFF, facilities),
    Page("api_facilities.list_facilities", STAFF, facilities),
    Page("beds.board", "operator", beds, facility_a),
    Page("api_beds.list_beds", "operator", beds, facility_a),
    Page("public.facilities", None, facilities),
    # bookings
    Page("bookings.mine", "family", family_bookings),
    Page("booking_admin.calendar", "operator", requests, calendar_week),
    Page("booking_admin.services", "operator", services, facility_a),
    # day care
    Page("daycare.roster", "operator", roster, facility_a),
    Page("daycare.members", "operator", members, facility_a),
    Page("daycare.activities", "operator", activities, facility_a),
    Page("daycare.incidents", "operator", incidents, facility_a),
    Page("daycare_reports.report", "operator", month_of_attendance, facility_a),
    Page("daycare_reports.overview", STAFF, centers),
    # visits
    Page("visits.due", "township_staff", visit_targets),
    Page("visits.targets", "township_staff", visit_targets),
    Page("visits.candidates", "township_staff", visit_targets),
    Page(
        "visits.coverage",
        "township_staff",
        visit_targets,
        bound=30,
        note="a trend of twelve months: one grouped count a month",
    ),
    Page("visits.follow_ups", "township_staff", visit_targets),
    Page(
        "visits.ledger",
        "township_staff",
        visited_last_month,
        lambda w: {"month": previous_month().strftime("%Y-%m")},
    ),
    Page("api_visits.due", "visitor", visit_targets),
    # ratings
    Page("ratings.schemes", STAFF, county_schemes),
    Page("ratings.rounds", STAFF, rounds),
    Page("ratings.round_page", STAFF, round_applications, round_values),
    Page("ratings.my_applications", "operator", operator_applications),
    Page(
        "ratings.my_applications",
        "assessor",
        assessor_applications,
        name="ratings.my_applications[assessor]",
    ),
    Page("ratings_overview.overview", STAFF, graded_facilities),
    Page("ratings_public.notices", None, results_in_notice),
    # subsidies
    Page("subsidies.programs", STAFF, programs),
    Page("subsidies.enrolments", STAFF, enrolments),
    Page("subsidies.notice", STAFF, people_in_notice, lambda w: {"id": _program(w).id}),
    Page(
        "subsidies.notice",
        STAFF,
        facilities_in_notice,
        lambda w: {"id": _facility_program(w).id},
        name="subsidies.notice[facilities]",
    ),
    Page("subsidies.candidates", STAFF, candidates, lambda w: {"id": _program(w).id}),
    Page("subsidies.batches", STAFF, batches, lambda w: {"id": _program(w).id}),
    Page("subsidies.batch", STAFF, payments, batch_values),
    Page("subsidies.recoveries", STAFF, listed_for_recovery),
    Page(
        "subsidy_files.report",
        STAFF,
        paid_months,
        # the first month paid: everyone in it is new (新增) and listed by name; in a later
        # month only totals grow, and a zip of them may come out the same length
        lambda w: {"program_id": _program(w).id, "period": "2026-01"},
    ),
    Page("subsidies.program", STAFF, rule_tables, lambda w: {"id": _program(w).id}),
    Page("subsidies.enrolment", STAFF, paid_enrolment, lambda w: {"id": _enrolment_of_a(w).id}),
    Page("existence.due", "township_staff", checks_overdue),
    Page("existence.programs", STAFF, programs_with_a_check),
    # notifications, audit, users, regions
    Page("notifications.inbox", "family", inbox),
    Page("notifications.outbox", "admin", outbox),
    Page("jobs.index", "admin", add_runs, more_rows=False, note="a row a job: runs change it"),
    Page("jobs.runs", "admin", add_runs, lambda w: {"name": SWEEP}),
    Page("audit.index", STAFF, audit_entries),
    Page("auth.users", "admin", users),
    Page("auth.tokens", STAFF, tokens_of(STAFF)),
    Page("api_auth.list_tokens", STAFF, tokens_of(STAFF)),
    Page("regions.index", STAFF, townships),
    Page("regions.show", STAFF, villages, lambda w: {"region_id": w.township_a.id}),
    Page(
        "api_regions.list_regions",
        STAFF,
        villages,
        lambda w: {"parent_id": w.township_a.id},
    ),
    # pages of one record that list what belongs to it
    Page("people.show", STAFF, record_of_a, lambda w: {"person_id": w.person_a.id}),
    Page(
        "people.show",
        "family",
        relative_a,
        lambda w: {"person_id": w.person_a.id},
        name="people.show[family]",
    ),
    Page("facilities.show", STAFF, grade_history, facility_a),
    Page("beds.show", "operator", bed_history, bed_values),
    Page(
        "ratings.application",
        STAFF,
        assessors_scores,
        lambda w: {"application_id": _application_of_a(w).id},
    ),
    Page(
        "subsidy_files.import_return",
        STAFF,
        failed_payments,
        lambda w: {"id": _returned_batch(w).id},
    ),
    Page(
        "visits.target",
        "township_staff",
        follow_ups_of_a,
        lambda w: {"target_id": _plan_of_a(w).id},
    ),
    Page("public.facility", None, facility_a_offer, facility_a),
    Page(
        "bookings.new",
        "family",
        week_of_bookings,
        lambda w: {"service_id": _bookable_service(w).id},
        more_rows=False,
        note="a week of slots: more bookings change the places left, not the rows",
    ),
    # exports
    Page(
        "daycare_reports.report_xlsx",
        "operator",
        month_of_attendance,
        facility_a,
        more_rows=False,
        note="a month's figures, a row a day",
    ),
    Page("daycare_reports.overview_xlsx", STAFF, centers),
    Page("ratings_overview.overview_xlsx", STAFF, graded_facilities),
    Page(
        "subsidy_files.export_batch",
        STAFF,
        bank_file_batches,
        latest_batch,
        note="a batch is frozen once approved: the larger file is the next month's batch",
    ),
    Page(
        "subsidy_files.report_export",
        STAFF,
        paid_months,
        # the first month paid: everyone in it is new (新增) and listed by name; in a later
        # month only totals grow, and a zip of them may come out the same length
        lambda w: {"program_id": _program(w).id, "period": "2026-01"},
    ),
    # data feeds
    Page("feeds.index", "county_staff", grow_imports),
    Page("feeds.review", "county_staff", grow_imports),
    # dashboards
    Page("dashboard.beds", STAFF, facilities),
    Page(
        "dashboard.overview",
        STAFF,
        dashboard_data,
        bound=240,
        note="every indicator for each of twelve months: the same grouped queries a month",
    ),
    Page(
        "dashboard.overview_xlsx",
        STAFF,
        dashboard_data,
        bound=240,
        note="the figures of the overview page",
    ),
]

#: GET routes whose names look like lists but that list nothing that grows with the data.
EXEMPT = {
    "booking_desk.index": "redirects an operator to the booking calendar of its facility",
    "daycare.settings": "the settings form of one center",
    "regions.settings": "the settings form of one county",
    "beds.import_beds": "the upload form of a bed import",
    "ratings.scores": "one assessor's score sheet: its rows are the items of the standard",
    "bookings.ics": "one booking's calendar file",
    "dashboard.plotly_js": "the plotly.js library, a static file",
}

#: A GET route looks like a list page when its name says so.
LIST_NAME = re.compile(
    r"^(index|list_\w+|my_\w+|mine|calendar|search|overview|board|roster|inbox|outbox|due"
    r"|coverage|report|ledger|export\w*|\w*_export|\w*_xlsx|\w*s)$"
)


def _drawn(app, client, page: Page, world: World):
    """The statements of one request for the page (after a first request that warms the
    process up) and the page's body."""
    with app.test_request_context():
        url = url_for(page.endpoint, **page.values(world))
    assert client.get(url).status_code == 200, url
    with count_queries() as seen:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return url, seen, response.get_data()


def _size(body: bytes) -> int:
    """How much a response holds: a workbook (a zip) by what it unpacks to, since two
    compressed files of different content may have the same length."""
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return sum(info.file_size for info in archive.infolist())
    return len(body)


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_list_page_queries_do_not_grow_with_rows(page: Page, app, client, auth, wide_world):
    world = wide_world
    page.grow(world, SMALL)
    auth.login_as(world.user(page.role) if page.role else None)
    _url, few, small_body = _drawn(app, client, page, world)
    page.grow(world, LARGE - SMALL)
    url, many, large_body = _drawn(app, client, page, world)
    if page.more_rows:
        assert _size(large_body) > _size(small_body), (
            f"{url}: the larger data set shows no more rows"
        )
    assert len(many) == len(few), (
        f"{url}: {len(few)} statements for {SMALL} rows, {len(many)} for {LARGE}\n"
        f"repeated:\n{many.growth_over(few)}"
    )
    assert len(many) <= page.bound, (
        f"{url}: {len(many)} statements, over the bound of {page.bound} ({page.note})\n{many}"
    )


def test_every_list_page_is_declared(app):
    declared = {page.endpoint for page in PAGES}
    missing = []
    for rule in app.url_map.iter_rules():
        name = rule.endpoint.rpartition(".")[2]
        if "GET" not in rule.methods or not LIST_NAME.match(name):
            continue
        if rule.endpoint not in declared and rule.endpoint not in EXEMPT:
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert not missing, (
        "list pages with no bound on their queries (declare them in PAGES, or exempt them "
        "with a reason in EXEMPT):\n" + "\n".join(sorted(missing))
    )


def test_exemptions_name_real_routes(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(EXEMPT) <= endpoints
    assert {page.endpoint for page in PAGES} <= endpoints
