"""What a family member sees of a verified relative: the current stay, last year's visits with
their summary, the subsidy status; never health data, the full ID or account number."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from eldercare.beds import operations as beds_ops
from eldercare.core.db import local_today, utcnow
from eldercare.extensions import db
from eldercare.people.models import (
    ABILITY_LABELS,
    AbilityAssessment,
    AbilityLevel,
    FamilyLink,
    LinkStatus,
)
from eldercare.subsidies.models import Enrolment, Payment, Program
from eldercare.subsidies.operations import mask_account
from eldercare.visits.models import FINDING_CHOICES, FINDING_LABELS
from tests.builders import LOW_RISKS
from tests.visits.helpers import build_target, record

ACCOUNT = "6228480000001234567"
HEALTH_NOTES = "高血压复查未做"
ASSESSMENT_NOTES = "阿尔茨海默病早期"


@pytest.fixture
def relative(world, make_person):
    person = make_person(world.village_a, name="陈玉兰", phone="13700002222")
    db.session.add(
        AbilityAssessment(
            person=person, assessed_on=date(2025, 1, 1), level="severe", notes=ASSESSMENT_NOTES
        )
    )
    db.session.flush()
    return person


@pytest.fixture
def daughter(make_user):
    return make_user("family", username="chen_daughter")


def link(user, person, status=LinkStatus.VERIFIED) -> FamilyLink:
    row = FamilyLink(user_id=user.id, person_id=person.id, relation="child", status=status.value)
    db.session.add(row)
    db.session.flush()
    return row


def admit(world, person, make_room, make_bed):
    bed = make_bed(make_room(world.facility_a), care_type="nursing")
    return beds_ops.admit(
        bed, person, local_today() - timedelta(days=40), LOW_RISKS, world.user("admin")
    )


def visit(world, person, days_ago: int, **kw):
    target = build_target(person, visitors=[world.user("visitor")], enrolled_on=date(2024, 1, 1))
    return record(target, world.user("visitor"), utcnow() - timedelta(days=days_ago), **kw)


def enrol(world, person, payments: int = 8) -> Enrolment:
    program = Program(
        region=world.county_a,
        code="GLF",
        name="高龄津贴",
        kind="age_allowance",
        basis="person",
        frequency="monthly",
        timing="advance",
        bank_columns=[],
    )
    enrolment = Enrolment(
        program=program,
        region_id=person.region_id,
        person_id=person.id,
        status="active",
        applied_on=date(2025, 1, 2),
        start_month=date(2025, 2, 1),
        account_kind="bank",
        bank_name="农业银行",
        account_holder=person.name,
        account_number=ACCOUNT,
        account_masked=mask_account(ACCOUNT),
        notice_until=date(2025, 1, 20),
        activated_on=date(2025, 1, 21),
    )
    db.session.add_all([program, enrolment])
    db.session.flush()
    for month in range(1, payments + 1):
        db.session.add(
            Payment(
                enrolment_id=enrolment.id,
                program_id=program.id,
                region_id=enrolment.region_id,
                person_id=person.id,
                period=date(2025, month, 1),
                status="paid",
                amount_fen=15000 + month,
                account_number=ACCOUNT,
                account_masked=enrolment.account_masked,
                created_at=utcnow(),
            )
        )
    db.session.flush()
    return enrolment


def page(client, person) -> str:
    response = client.get(f"/people/{person.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_verified_relative_shows_stay_visits_and_subsidies(
    client, auth, world, relative, daughter, make_room, make_bed
):
    link(daughter, relative)
    stay = admit(world, relative, make_room, make_bed)
    recent = visit(
        world, relative, 3, summary="老人精神不错，屋里很整洁", health_notes=HEALTH_NOTES
    )
    enrol(world, relative)
    auth.login_as(daughter)
    html = page(client, relative)

    assert "马营镇敬老院" in html
    assert stay.admitted_on.isoformat() in html
    assert stay.bed.care_type_label in html
    assert "老人精神不错，屋里很整洁" in html
    assert recent.method_label in html
    assert "高龄津贴" in html
    assert mask_account(ACCOUNT) in html
    # The last six payments, newest first, in yuan.
    assert "2025-08" in html and "150.08" in html
    assert "2025-03" in html
    assert "2025-02" not in html and "2025-01" not in html
    assert html.index("2025-08") < html.index("2025-03")


def test_visits_older_than_a_year_are_not_shown(client, auth, world, relative, daughter):
    link(daughter, relative)
    visit(world, relative, 400, summary="去年的探访")
    auth.login_as(daughter)
    assert "去年的探访" not in page(client, relative)


def test_no_health_data_nor_full_numbers(
    app, client, auth, world, relative, daughter, make_room, make_bed
):
    link(daughter, relative)
    admit(world, relative, make_room, make_bed)
    visit(
        world, relative, 3, summary="一切正常", health="poor", mood="low", health_notes=HEALTH_NOTES
    )
    enrol(world, relative)
    auth.login_as(daughter)
    html = page(client, relative)
    with app.test_request_context():  # labels as the page's (default) locale words them
        labels = [
            str(ABILITY_LABELS[AbilityLevel.SEVERE]),
            str(FINDING_CHOICES["health"]["poor"]),
            str(FINDING_CHOICES["mood"]["low"]),
            str(FINDING_LABELS["health"]),
        ]
    for secret in (HEALTH_NOTES, ASSESSMENT_NOTES, relative.id_number, ACCOUNT, relative.phone):
        assert secret not in html
    for label in labels:
        assert label not in html


def test_a_relative_without_stay_visits_or_subsidies(client, auth, relative, daughter):
    link(daughter, relative)
    auth.login_as(daughter)
    html = page(client, relative)
    assert relative.name in html
    assert 'id="family-stay"' in html and 'id="family-subsidies"' in html


@pytest.mark.parametrize("status", [LinkStatus.PENDING, LinkStatus.REJECTED, LinkStatus.REVOKED])
def test_an_unverified_link_shows_nothing(client, auth, world, relative, daughter, status):
    link(daughter, relative, status)
    visit(world, relative, 3, summary="不该看到")
    auth.login_as(daughter)
    response = client.get(f"/people/{relative.id}")
    assert response.status_code == 404
    assert "不该看到" not in response.get_data(as_text=True)
    assert relative.name not in client.get("/").get_data(as_text=True)


def test_another_familys_relative_is_404(client, auth, world, relative, daughter, make_user):
    link(make_user("family"), relative)
    link(daughter, world.person_b)
    auth.login_as(daughter)
    assert client.get(f"/people/{relative.id}").status_code == 404
    assert client.get(f"/people/{world.person_b.id}").status_code == 200


def test_the_relatives_bookings_are_listed_with_a_link(
    client, auth, world, relative, daughter, make_user
):
    from eldercare.bookings.models import BookingStatus
    from tests.bookings.authz import booking_row

    link(daughter, relative)
    sister = make_user("family")
    link(sister, relative)
    # Booked by another member of the family: the relative's bookings, whoever booked them.
    booking = booking_row(world.facility_a, relative, sister, BookingStatus.CONFIRMED.value)
    someone_else = booking_row(world.facility_b, world.person_b, sister)
    auth.login_as(daughter)
    html = page(client, relative)
    section = html[html.index('id="family-bookings"') :]
    assert f'href="/bookings/{booking.id}"' in section
    assert booking.service.name in section and "马营镇敬老院" in section
    with client.application.test_request_context():  # as the page's (default) locale says it
        assert booking.status_label in section
    assert f'href="/bookings/{someone_else.id}"' not in html
    assert client.get(f"/bookings/{booking.id}").status_code == 200
