"""What the monthly visit rate counts is the county's choice: every covered person visited in
the month, or the visits due in the month that were done. A person visited quarterly on time
reaches 100% on the second, never on the first; the page says which one it shows, both can be
seen, and the trend and the overview card count the same way."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.dashboard.overview import county_overview
from eldercare.visits import operations as ops
from eldercare.visits.coverage import coverage, month_bounds
from eldercare.visits.models import VisitPolicy
from tests.builders import build_person
from tests.visits.helpers import admin, at, build_target, record


def past_month() -> date:
    """A whole month in the past, with room before it for earlier visits (read when the
    test runs)."""
    today = local_today()
    return date(today.year - (today.month <= 3), (today.month - 4) % 12 + 1, 1)


def _general(world, name: str, enrolled: date):
    person = build_person(world.village_a, name=name, lives_alone=True, born=date(1956, 3, 1))
    target = build_target(person, enrolled_on=enrolled)
    assert target.tier == "general"  # visited every 90 days
    return target


@pytest.fixture
def quarterly(world):
    """Two people visited every quarter, both on time: one was due in the month (and visited
    in it), the other was visited just before the month and is due after it."""
    first, _next = month_bounds(past_month())
    on_time = _general(world, "何秀珍", first - timedelta(days=150))
    record(on_time, admin(), at(first - timedelta(days=80)))
    record(on_time, admin(), at(first + timedelta(days=8)))  # due first+10: on time
    not_due = _general(world, "唐玉英", first - timedelta(days=150))
    record(not_due, admin(), at(first - timedelta(days=20)))  # next due after the month
    return on_time, not_due


def test_every_person_basis_counts_the_quarterly_person_every_month(world, quarterly):
    month = past_month()
    result = coverage(world.county_a, month, sa.true(), basis="covered")
    assert (result.total.visited, result.total.targets) == (1, 2)
    assert result.basis == "covered"


def test_due_basis_reaches_100_percent_when_every_visit_is_on_time(world, quarterly):
    month = past_month()
    result = coverage(world.county_a, month, sa.true(), basis="due")
    assert (result.total.visited, result.total.targets) == (1, 1)
    assert result.total.meets_target


def test_a_person_never_visited_and_overdue_counts_as_due_and_missed(world, quarterly):
    month = past_month()
    first, _next = month_bounds(month)
    _general(world, "邓桂芝", first - timedelta(days=60))  # first visit due long ago
    result = coverage(world.county_a, month, sa.true(), basis="due")
    assert (result.total.visited, result.total.targets) == (1, 2)


def test_the_county_choice_decides_and_the_trend_counts_the_same(world, quarterly):
    month = past_month()
    first, nxt = month_bounds(month)
    assert coverage(world.county_a, month, sa.true()).total.targets == 2  # default: covered
    ops.save_policy(world.county_a, {"rate_basis": "due"}, world.user("county_staff"))
    chosen = coverage(world.county_a, month, sa.true())
    assert chosen.basis == "due" and chosen.total.rate == 1.0
    [township] = chosen.by_subregion
    assert (township.visited, township.targets) == (1, 1)
    later = coverage(world.county_a, nxt, sa.true())
    assert dict(later.trend)[first] == chosen.total.rate
    # Another county's rules do not leak in.
    ops.save_policy(world.county_b, {"rate_basis": "covered"}, admin())
    assert coverage(world.county_a, month, sa.true()).basis == "due"


def test_the_overview_card_uses_the_county_choice(world, quarterly):
    today = local_today()
    month = past_month()
    ops.save_policy(world.county_a, {"rate_basis": "due"}, world.user("county_staff"))
    overview = county_overview(world.county_a, month, today, idle_days=14)
    card = next(i for i in overview.indicators if i.key == "visit_rate")
    assert card.value == 1.0 and card.params["basis"] == "due"
    assert "当月应访" in str(card.detail) or "due a visit" in str(card.detail)


def test_policy_page_saves_the_choice_and_coverage_shows_it(world, quarterly, client, auth):
    month = past_month()
    auth.login_as(world.user("county_staff"))
    policy = VisitPolicy.defaults(world.county_a.id)
    form = {
        name: str(getattr(policy, name))
        for name in (
            "high_interval_days",
            "key_interval_days",
            "general_interval_days",
            "first_visit_days",
            "high_risk_age",
            "high_ability_level",
            "key_ability_level",
            "due_soon_days",
            "escalation_days",
            "event_visit_hours",
        )
    }
    page = client.get(f"/visits/policy?region_id={world.county_a.id}").get_data(as_text=True)
    assert 'id="f-rate_basis-covered" value="covered" checked' in page
    saved = client.post(
        f"/visits/policy?region_id={world.county_a.id}", data={**form, "rate_basis": "due"}
    )
    assert saved.status_code == 302
    url = f"/visits/coverage?region_id={world.county_a.id}&month={month:%Y-%m}"
    page = client.get(url).get_data(as_text=True)
    assert "统计口径：按应访" in page and "本县选定的口径" in page and "100.0%" in page
    assert 'id="basis-covered"' in page
    other = client.get(url + "&basis=covered").get_data(as_text=True)
    assert "统计口径：按人" in other and "50.0%" in other


def test_while_the_month_runs_a_visit_due_later_is_not_yet_missed(world):
    today = local_today()
    _first, nxt = month_bounds(today)
    if today + timedelta(days=1) >= nxt:
        pytest.skip("the last day of the month: nothing is due later in it")
    later = _general(world, "马桂英", today - timedelta(days=120))
    record(later, admin(), at(nxt - timedelta(days=91)))  # due on the month's last day
    assert later.next_due_on == nxt - timedelta(days=1)
    result = coverage(world.county_a, today, sa.true(), basis="due")
    assert result.total.targets == 0
    record(later, admin(), at(today))  # done early: it counts, and it is done
    result = coverage(world.county_a, today, sa.true(), basis="due")
    assert (result.total.visited, result.total.targets) == (1, 1)
