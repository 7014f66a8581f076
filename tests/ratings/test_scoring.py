"""The scoring engine against examples worked out by hand.

A small scheme: section A (60 points: a1 30, a2 30, and the must-have m1), section B (40
points: b1 20, b2 20). Thresholds: level 1 total 50 and A 30; level 2 total 70, A 40, B 25;
level 3 total 85, A 50, B 30. Capped at three stars, or (``FIVE``) going on to level 4 (total
92) and level 5 (total 97, B 38).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from eldercare.ratings.scoring import (
    ItemSpec,
    SchemeSpec,
    ScoreError,
    SectionSpec,
    Shortfall,
    ThresholdSpec,
    check,
    score,
)

SECTIONS = (
    SectionSpec("A", "安全", 60, (ItemSpec("m1", 0, True), ItemSpec("a1", 30), ItemSpec("a2", 30))),
    SectionSpec("B", "服务", 40, (ItemSpec("b1", 20), ItemSpec("b2", 20))),
)
LEVELS = (
    ThresholdSpec(1, 50, {"A": 30}),
    ThresholdSpec(2, 70, {"A": 40, "B": 25}),
    ThresholdSpec(3, 85, {"A": 50, "B": 30}),
)
THREE = SchemeSpec(SECTIONS, LEVELS, max_level=3)
FIVE = SchemeSpec(
    SECTIONS,
    (*LEVELS, ThresholdSpec(4, 92, {"A": 55, "B": 35}), ThresholdSpec(5, 97, {"B": 38})),
    max_level=5,
)


def scores(a1, a2, b1, b2, m1=True) -> dict:
    return {"A/m1": m1, "A/a1": a1, "A/a2": a2, "B/b1": b1, "B/b2": b2}


def test_level_three_reached_and_the_cap_named():
    # A = 30 + 25 = 55, B = 20 + 10 = 30, total 85: level 3 exactly (85 >= 85, 55 >= 50,
    # 30 >= 30); the scheme allows no more than three stars.
    result = score(THREE, scores(30, 25, 20, 10))
    assert result.sections == {"A": 55, "B": 30} and result.total == 85
    assert result.level == 3
    assert result.stopped_by == [Shortfall(4, "cap", "", 3, 3)]


def test_a_perfect_score_is_still_three_stars_under_the_cap():
    result = score(THREE, scores(30, 30, 20, 20))
    assert result.total == 100 and result.level == 3
    assert [s.kind for s in result.stopped_by] == ["cap"]


def test_a_missing_must_have_means_no_grade_whatever_the_points():
    result = score(FIVE, scores(30, 30, 20, 20, m1=False))
    assert result.level is None and not result.graded
    assert result.failed_must_haves == ["A/m1"]
    assert result.stopped_by == [Shortfall(1, "must_have", "A/m1")]
    # An item not scored at all is not met either.
    unscored = score(FIVE, {"A/a1": 30, "A/a2": 30, "B/b1": 20, "B/b2": 20})
    assert unscored.failed_must_haves == ["A/m1"]


def test_a_section_minimum_stops_the_next_level():
    # A = 60, B = 10 + 10 = 20, total 80: level 1 (80 >= 50, A 60 >= 30); level 2 needs
    # B 25, B has 20 -> level 1, stopped by section B (needed 25, got 20) alone.
    result = score(FIVE, scores(30, 30, 10, 10))
    assert result.level == 1
    assert result.stopped_by == [Shortfall(2, "section", "B", 25, Decimal(20))]


def test_total_and_section_both_named():
    # A = 40, B = 30, total 70: level 2 (70 >= 70, A 40 >= 40, B 30 >= 25); level 3 needs
    # total 85 (has 70) and A 50 (has 40); B 30 >= 30 is fine.
    result = score(FIVE, scores(20, 20, 15, 15))
    assert result.level == 2
    assert result.stopped_by == [
        Shortfall(3, "total", "", 85, Decimal(70)),
        Shortfall(3, "section", "A", 50, Decimal(40)),
    ]


def test_below_the_first_level_is_no_grade():
    # A = 20, B = 20, total 40 < 50, A 20 < 30.
    result = score(FIVE, scores(10, 10, 10, 10))
    assert result.level is None and result.failed_must_haves == []
    assert [(s.level, s.kind, s.target) for s in result.stopped_by] == [
        (1, "total", ""),
        (1, "section", "A"),
    ]


def test_four_stars_missed_on_the_total_and_five_reached_with_full_marks():
    # A = 20 + 30 = 50, B = 19 + 19 = 38, total 88: level 3 (85, A 50, B 30 met); level 4
    # needs total 92 (has 88) and A 55 (has 50).
    result = score(FIVE, scores(20, 30, 19, 19))
    assert result.total == 88 and result.level == 3
    assert result.stopped_by == [
        Shortfall(4, "total", "", 92, Decimal(88)),
        Shortfall(4, "section", "A", 55, Decimal(50)),
    ]
    top = score(FIVE, scores(30, 30, 20, 20))
    assert top.level == 5 and top.stopped_by == []


def test_half_points_only_and_within_range():
    assert score(FIVE, scores(29.5, 30, 20, 20)).total == Decimal("99.5")
    with pytest.raises(ScoreError) as bad:
        score(FIVE, scores(29.3, 31, "x", 20) | {"C/c1": 1})
    assert set(bad.value.errors) == {"A/a1", "A/a2", "B/b1", "C/c1"}


def test_a_scheme_that_does_not_add_up_is_refused():
    broken = SchemeSpec(
        (SectionSpec("A", "安全", 50, (ItemSpec("a1", 30),)),),
        (ThresholdSpec(1, 20), ThresholdSpec(2, 20, {"Z": 5})),
        max_level=3,
    )
    problems = check(broken)
    assert len(problems) == 4
    assert any("30" in p and "50" in p for p in problems)  # A's items add up to 30, not 50
    assert any("Z" in p for p in problems)  # no section Z
    assert check(THREE) == [] and check(FIVE) == []
