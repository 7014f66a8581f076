"""Care plans: tiers from the county's rules, due dates that are always right, and every
change (tier, policy, visit, event, death) recomputing them at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eldercare.core.db import local_today, local_zone
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment
from eldercare.visits import operations as ops
from eldercare.visits.models import CareTarget, DueStatus, Tier, VisitPolicy
from tests.builders import build_person, build_user
from tests.visits.helpers import admin, at, build_target, record, visit_data


def years_ago(n: int) -> date:
    today = local_today()
    return date(today.year - n, 1, 15)


@pytest.fixture
def village(world):
    return world.village_a


def test_tier_from_age_and_living_situation(village):
    old_alone = build_person(village, born=years_ago(85), lives_alone=True)
    young_alone = build_person(village, born=years_ago(70), lives_alone=True)
    assert build_target(old_alone).tier == Tier.HIGH
    assert build_target(young_alone).tier == Tier.GENERAL


def test_tier_from_ability_and_support(village):
    today = local_today()
    disabled = build_person(village, born=years_ago(70))
    disabled.assessments.append(AbilityAssessment(assessed_on=today, level="moderate"))
    bedridden = build_person(village, born=years_ago(70))
    bedridden.assessments.append(AbilityAssessment(assessed_on=today, level="total"))
    tekun = build_person(village, born=years_ago(70), economic_status="tekun_dispersed")
    special = build_person(village, born=years_ago(66), special_family=True)
    db.session.flush()
    enrolled = build_target(disabled, categories=())
    assert enrolled.tier == Tier.KEY and enrolled.categories == ["disabled"]
    assert build_target(bedridden, categories=()).tier == Tier.HIGH
    assert build_target(tekun, categories=("empty_nest",)).tier == Tier.KEY
    assert build_target(special, categories=()).tier == Tier.KEY


def test_county_rules_change_the_tier(world, village):
    today = local_today()
    person = build_person(village, born=years_ago(76), empty_nest=True)
    target = build_target(person, enrolled_on=today - timedelta(days=30))
    record(target, admin(), at(today - timedelta(days=2)))
    assert target.tier == Tier.GENERAL
    assert target.next_due_on == today + timedelta(days=88)
    ops.save_policy(world.county_a, {"high_risk_age": 75}, admin())
    assert target.tier == Tier.HIGH
    # ...and the next visit moved to the weekly interval at once.
    assert target.next_due_on == today + timedelta(days=5)


def test_nobody_outside_a_covered_category_is_enrolled(village):
    person = build_person(village, born=years_ago(70))
    with pytest.raises(Invalid):
        build_target(person, categories=())


def test_enrolled_once_and_again_after_an_end(village):
    today = local_today()
    person = build_person(village, lives_alone=True)
    target = build_target(person)
    with pytest.raises(Conflict):
        build_target(person)
    ops.end_target(target, "moved", today, admin())
    again = build_target(person)
    assert again.id == target.id and again.active


def test_first_visit_due_a_week_after_enrolment(village):
    today = local_today()
    target = build_target(build_person(village, lives_alone=True), enrolled_on=today)
    assert target.next_due_on == today + timedelta(days=7)
    assert target.status_on(today) == DueStatus.UPCOMING


@pytest.mark.parametrize(
    ("days_since_visit", "status"),
    [(0, "done"), (10, "upcoming"), (88, "due"), (90, "due"), (91, "overdue")],
)
def test_status_from_the_last_visit(village, days_since_visit, status):
    # General tier: every 90 days; "due" from 3 days before.
    today = local_today()
    person = build_person(village, born=years_ago(70), lives_alone=True)
    target = build_target(person, enrolled_on=today - timedelta(days=200))
    record(target, admin(), at(today - timedelta(days=days_since_visit), hour=9))
    assert target.next_due_on == today - timedelta(days=days_since_visit) + timedelta(days=90)
    assert target.status_on(today, datetime.now(UTC)) == status
    # The SQL filter of the list pages agrees with the Python rule.
    for candidate in ("overdue", "due", "upcoming", "done"):
        found = db.session.scalar(
            db.select(CareTarget.id).where(
                CareTarget.id == target.id,
                ops.status_condition(candidate, today, datetime.now(UTC), 3),
            )
        )
        assert (found is not None) == (candidate == status), candidate


def test_a_visit_moves_the_due_date_and_an_older_visit_does_not(village):
    today = local_today()
    target = build_target(
        build_person(village, lives_alone=True), enrolled_on=today - timedelta(days=100)
    )
    record(target, admin(), at(today - timedelta(days=5)))
    due = target.next_due_on
    record(target, admin(), at(today - timedelta(days=20)))  # entered late, from paper
    assert target.next_due_on == due


def test_override_changes_the_interval_and_needs_a_reason(village):
    today = local_today()
    target = build_target(
        build_person(village, born=years_ago(70), lives_alone=True),
        enrolled_on=today - timedelta(days=60),
    )
    record(target, admin(), at(today - timedelta(days=10)))
    assert target.status_on(today) == DueStatus.UPCOMING
    with pytest.raises(Invalid):
        ops.set_override(target, "high", "", admin())
    ops.set_override(target, "high", "近期跌倒两次", admin())
    assert target.tier == Tier.HIGH
    assert target.next_due_on == today - timedelta(days=3)
    assert target.status_on(today) == DueStatus.OVERDUE
    ops.set_override(target, None, "", admin())
    assert target.tier == Tier.GENERAL and target.status_on(today) == DueStatus.UPCOMING


def test_a_new_assessment_recomputes_the_tier(village):
    today = local_today()
    target = build_target(
        build_person(village, born=years_ago(70), lives_alone=True),
        enrolled_on=today - timedelta(days=30),
    )
    record(target, admin(), at(today - timedelta(days=2)))
    assert target.tier == Tier.GENERAL and target.next_due_on == today + timedelta(days=88)
    target.person.assessments.append(AbilityAssessment(assessed_on=today, level="severe"))
    db.session.flush()
    ops.person_changed(target.person)
    assert target.tier == Tier.KEY
    assert target.next_due_on == today + timedelta(days=28)


def test_a_death_ends_the_plan(village):
    from eldercare.people.life_events import record_death

    today = local_today()
    target = build_target(build_person(village, lives_alone=True))
    record_death(target.person, today, admin())
    assert not target.active and target.end_reason == "death"
    assert target.next_due_on is None


def test_a_change_of_a_dead_person_leaves_the_plan_to_the_life_event(village):
    """person_changed no longer ends plans: the registry's life event does, once."""
    today = local_today()
    target = build_target(build_person(village, lives_alone=True))
    target.person.death_date = today  # not through the one writer: the repair sweep's work
    ops.person_changed(target.person)
    assert target.active


def test_major_event_requires_a_visit_within_24_hours(world, village):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(village, lives_alone=True), [visitor], today - timedelta(days=10)
    )
    record(target, visitor, at(today - timedelta(days=3)))
    occurred = datetime.now(UTC) - timedelta(hours=30)
    event = ops.report_event(target, {"kind": "fall", "occurred_at": occurred}, visitor)
    assert event.visit_due_at == occurred + timedelta(hours=24)
    assert target.status_on(today, datetime.now(UTC)) == DueStatus.OVERDUE
    record(target, visitor)
    assert target.urgent_due_at is None
    assert event.answered_by_visit_id is not None
    assert target.status_on(today, datetime.now(UTC)) == DueStatus.DONE


def test_the_same_form_sent_twice_records_one_visit(world, village):
    visitor = world.user("visitor")
    target = build_target(build_person(village, lives_alone=True), [visitor])
    form = {**visit_data(), "client_token": "tok-1234567890"}
    first, created = ops.record_visit(target, dict(form), visitor)
    again, created_again = ops.record_visit(target, dict(form), visitor)
    assert created and not created_again and first.id == again.id


def test_visitor_records_only_for_assigned_people(world, village):
    target = build_target(build_person(village, lives_alone=True))
    with pytest.raises(AppError) as refused:
        record(target, world.user("visitor"))
    assert refused.value.code == 403


def test_only_visitors_of_the_area_can_be_assigned(world, village):
    target = build_target(build_person(village, lives_alone=True))
    far = build_user("visitor", world.village_b)
    with pytest.raises(Invalid):
        ops.assign(target, far, world.user("township_staff"))
    ops.assign(target, world.user("visitor"), world.user("township_staff"))
    with pytest.raises(Conflict):
        ops.assign(target, world.user("visitor"), world.user("township_staff"))


def test_follow_up_goes_to_township_staff_and_closes_with_a_resolution(world, village):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(build_person(village, lives_alone=True), [visitor])
    visit = record(target, visitor, follow_up="燃气灶漏气")
    follow_up = visit.follow_ups[0]
    assert follow_up.assigned_to_id == world.user("township_staff").id
    assert follow_up.due_on == today + timedelta(days=7)
    ops.close_follow_up(follow_up, "已更换软管", visitor)
    assert not follow_up.is_open
    with pytest.raises(Conflict):
        ops.close_follow_up(follow_up, "again", visitor)


def test_policy_defaults_follow_the_provincial_scheme():
    policy = VisitPolicy.defaults()
    assert (policy.high_interval_days, policy.key_interval_days) == (7, 30)
    assert policy.general_interval_days == 90 and policy.event_visit_hours == 24


def test_registry_changes_reach_the_plan_at_once(world, client, auth):
    """Through the registry's own pages: a new assessment and a changed living situation."""
    today = local_today()
    person = build_person(world.village_a, born=years_ago(82), empty_nest=True)
    target = build_target(person)
    assert target.tier == Tier.HIGH
    auth.login_as(world.user("township_staff"))
    response = client.post(
        f"/people/{person.id}/assessments",
        data={"assessed_on": today.isoformat(), "level": "moderate"},
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    db.session.refresh(target)
    assert "disabled" in target.categories


def test_a_major_event_after_todays_visit_still_calls_for_a_visit(world, village):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(village, lives_alone=True), [visitor], today - timedelta(days=10)
    )
    # Half an hour ago, but today: in the first half hour after local midnight, that is
    # just after midnight (a visit of yesterday would not count as today's).
    today_start = datetime.combine(today, datetime.min.time(), tzinfo=local_zone())
    record(target, visitor, max(datetime.now(UTC) - timedelta(minutes=30), today_start))
    assert target.status_on(today, datetime.now(UTC)) == DueStatus.DONE
    ops.report_event(target, {"kind": "fall", "occurred_at": datetime.now(UTC)}, visitor)
    now = datetime.now(UTC)
    assert target.status_on(today, now) == DueStatus.DUE
    assert [t.id for t in ops.due_list(visitor, today, now).due] == [target.id]


def test_an_event_reported_late_is_answered_by_the_visit_made_after_it(world, village):
    today = local_today()
    target = build_target(build_person(village, lives_alone=True), [], today - timedelta(days=10))
    visit = record(target, admin(), datetime.now(UTC) - timedelta(hours=2))
    event = ops.report_event(
        target, {"kind": "illness", "occurred_at": datetime.now(UTC) - timedelta(hours=5)}, admin()
    )
    assert event.answered_by_visit_id == visit.id and target.urgent_due_at is None


def test_enrolled_again_starts_afresh(world, village):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(village, lives_alone=True), [visitor], today - timedelta(days=300)
    )
    record(target, admin(), at(today - timedelta(days=200)))
    ops.set_override(target, "high", "近期跌倒", admin())
    ops.end_target(target, "moved", today - timedelta(days=100), admin())
    again = ops.enrol(target.person, admin(), on=today)
    assert again.override_tier is None and again.visitors == []
    assert again.last_visit_at is None
    assert again.next_due_on == today + timedelta(days=7)  # not 190 days overdue


def test_moving_to_another_county_changes_rules_and_visitors(world, village):
    visitor = world.user("visitor")
    target = build_target(build_person(village, lives_alone=True), [visitor])
    target.person.region_id = world.village_b.id
    db.session.flush()
    db.session.refresh(target.person)
    ops.person_changed(target.person)
    assert target.county_id == world.county_b.id and target.visitors == []


def test_an_old_draft_reused_for_a_new_visit_is_refused_not_lost(world, village):
    today = local_today()
    visitor = world.user("visitor")
    target = build_target(
        build_person(village, lives_alone=True), [visitor], today - timedelta(days=10)
    )
    data = {**visit_data(at(today - timedelta(days=3))), "client_token": "draft-token-1"}
    ops.record_visit(target, data, visitor)
    newer = {**visit_data(), "client_token": "draft-token-1", "summary": "new"}
    with pytest.raises(Conflict):
        ops.record_visit(target, newer, visitor)
