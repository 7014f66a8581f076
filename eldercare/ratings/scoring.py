"""The scoring engine: item scores in, a result that explains itself out.

Plain data, no database: ``spec_of(scheme)`` turns a stored scheme into a ``SchemeSpec``,
``score(spec, scores)`` rates one assessment. The rules:

- every must-have item (必备项) must be met; one that is not means no grade at all;
- section score = sum of its items' points; total = sum of the sections;
- a level is reached when the total and every section minimum of that level are reached, and
  so are those of every lower level; the grade is the highest level reached, never above the
  scheme's highest level (a community station has at most three stars);
- the result names the exact threshold that stopped the next level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from flask_babel import lazy_gettext as _l

#: Points are whole or half points (an assessor takes off half a point for a small lapse).
STEP = Decimal("0.5")
#: Five stars (五级) is the top of GB/T 37276.
TOP_LEVEL = 5


class ScoreError(ValueError):
    """Scores that do not fit the scheme: unknown items, out of range, not half points."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ItemSpec:
    code: str
    max_points: int
    must_have: bool = False


@dataclass(frozen=True)
class SectionSpec:
    code: str
    name: str
    max_points: int
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class ThresholdSpec:
    level: int
    min_total: int
    section_minimums: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SchemeSpec:
    sections: tuple[SectionSpec, ...]
    thresholds: tuple[ThresholdSpec, ...]
    max_level: int

    def item_key(self, section: SectionSpec, item: ItemSpec) -> str:
        return f"{section.code}/{item.code}"


@dataclass(frozen=True)
class Shortfall:
    """Why a level was not reached: ``kind`` is "must_have", "total", "section" or "cap"."""

    level: int
    kind: str
    target: str = ""
    needed: Decimal | int = 0
    got: Decimal | int = 0


@dataclass
class Result:
    sections: dict[str, Decimal]
    total: Decimal
    failed_must_haves: list[str]
    level: int | None
    #: What stopped the next level (empty when the highest level of the scheme is reached).
    stopped_by: list[Shortfall]

    @property
    def graded(self) -> bool:
        return self.level is not None


def spec_of(scheme) -> SchemeSpec:
    """A stored scheme (eldercare.ratings.models.Scheme) as plain data."""
    return SchemeSpec(
        sections=tuple(
            SectionSpec(
                s.code,
                s.name,
                s.max_points,
                tuple(ItemSpec(i.code, i.max_points, i.must_have) for i in s.items),
            )
            for s in scheme.sections
        ),
        thresholds=tuple(
            ThresholdSpec(t.level, t.min_total, dict(t.section_minimums or {}))
            for t in scheme.thresholds
        ),
        max_level=scheme.max_level,
    )


def _points(value, item: ItemSpec) -> Decimal:
    try:
        points = Decimal(str(value))
    except ArithmeticError:
        raise ValueError("not a number") from None
    if not points.is_finite() or points < 0 or points > item.max_points:
        raise ValueError(f"between 0 and {item.max_points}")
    if points % STEP:
        raise ValueError("whole or half points")
    return points


def score(spec: SchemeSpec, scores: Mapping[str, object]) -> Result:
    """Rate an assessment. ``scores`` maps "section/item" to points for scored items and to
    True/False (met or not) for must-have items; an item not scored counts 0 / not met."""
    known = {spec.item_key(s, i) for s in spec.sections for i in s.items}
    errors = {key: "unknown item" for key in scores if key not in known}
    sections: dict[str, Decimal] = {}
    failed: list[str] = []
    for section in spec.sections:
        total = Decimal(0)
        for item in section.items:
            key = spec.item_key(section, item)
            value = scores.get(key)
            if item.must_have:
                if value is not True:
                    failed.append(key)
                continue
            if value is None:
                continue
            try:
                total += _points(value, item)
            except ValueError as err:
                errors[key] = str(err)
        sections[section.code] = total
    if errors:
        raise ScoreError(errors)
    total = sum(sections.values(), Decimal(0))
    return Result(sections, total, failed, *_level(spec, sections, total, failed))


def _shortfalls(threshold: ThresholdSpec, sections, total) -> list[Shortfall]:
    out = []
    if total < threshold.min_total:
        out.append(Shortfall(threshold.level, "total", "", threshold.min_total, total))
    for code, minimum in sorted(threshold.section_minimums.items()):
        if sections.get(code, Decimal(0)) < minimum:
            out.append(Shortfall(threshold.level, "section", code, minimum, sections.get(code, 0)))
    return out


def _level(spec: SchemeSpec, sections, total, failed) -> tuple[int | None, list[Shortfall]]:
    if failed:
        return None, [Shortfall(1, "must_have", key) for key in failed]
    reached = None
    for threshold in sorted(spec.thresholds, key=lambda t: t.level):
        if threshold.level > spec.max_level:
            break
        missing = _shortfalls(threshold, sections, total)
        if missing:
            return reached, missing
        reached = threshold.level
    if reached is not None and reached >= spec.max_level and spec.max_level < TOP_LEVEL:
        # The scheme stops below five stars (a community station: three at most).
        return reached, [Shortfall(reached + 1, "cap", "", spec.max_level, reached)]
    return reached, []


def check(spec: SchemeSpec) -> list[str]:
    """What is wrong with a scheme before it can be used (empty when it is sound)."""
    problems = []
    codes = [s.code for s in spec.sections]
    if len(set(codes)) != len(codes):
        problems.append(str(_l("Section codes repeat.")))
    for section in spec.sections:
        scored = sum(i.max_points for i in section.items if not i.must_have)
        if scored != section.max_points:
            problems.append(
                str(
                    _l(
                        "%(section)s: items add up to %(sum)s, not %(points)s.",
                        section=section.code,
                        sum=scored,
                        points=section.max_points,
                    )
                )
            )
        item_codes = [i.code for i in section.items]
        if len(set(item_codes)) != len(item_codes):
            problems.append(str(_l("%(section)s: item codes repeat.", section=section.code)))
    levels = sorted(t.level for t in spec.thresholds)
    if levels != list(range(1, spec.max_level + 1)):
        problems.append(
            str(_l("Give a threshold for each level from 1 to %(n)s.", n=spec.max_level))
        )
    ordered = sorted(spec.thresholds, key=lambda t: t.level)
    by_code = {s.code: s for s in spec.sections}
    for lower, higher in pairwise(ordered):
        if higher.min_total <= lower.min_total:
            problems.append(
                str(
                    _l(
                        "Level %(higher)s: the total must be above level %(lower)s's.",
                        higher=higher.level,
                        lower=lower.level,
                    )
                )
            )
    for t in ordered:
        if t.min_total > sum(s.max_points for s in spec.sections):
            problems.append(
                str(_l("Level %(level)s: the total is above the scheme's points.", level=t.level))
            )
        for code, minimum in t.section_minimums.items():
            if code not in by_code:
                problems.append(
                    str(
                        _l(
                            "Level %(level)s: there is no section %(section)s.",
                            level=t.level,
                            section=code,
                        )
                    )
                )
            elif minimum > by_code[code].max_points:
                problems.append(
                    str(
                        _l(
                            "Level %(level)s: the minimum of %(section)s is above its points.",
                            level=t.level,
                            section=code,
                        )
                    )
                )
    return problems
