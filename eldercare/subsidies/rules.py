"""What a rule table pays whom: matching, birth-date bounds for SQL, and the no-overlap check.

Generation runs in SQL; ``amount_for`` is the same rule written plainly in Python, used to
explain an amount on a page and to check the SQL in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from eldercare.core.resident_id import age_on, years_before


@dataclass(frozen=True)
class Facts:
    """What a rule can ask about a beneficiary for a period."""

    age: int | None = None
    economic_status: str | None = None
    ability_level: str | None = None
    star_level: int | None = None


def latest_birth_for_age(age: int, reference: date) -> date:
    """The latest birth date of someone at least ``age`` years old on ``reference``."""
    born = years_before(reference, age)
    while age_on(born, reference) < age:
        born -= timedelta(days=1)
    while age_on(born + timedelta(days=1), reference) >= age:
        born += timedelta(days=1)
    return born


def birth_bounds(min_age: int | None, max_age: int | None, reference: date):
    """(born on or before, born after) for an age range on ``reference``; None is open."""
    on_or_before = latest_birth_for_age(min_age, reference) if min_age is not None else None
    after = latest_birth_for_age(max_age + 1, reference) if max_age is not None else None
    return on_or_before, after


def matches(rule, facts: Facts) -> bool:
    if rule.min_age is not None and (facts.age is None or facts.age < rule.min_age):
        return False
    if rule.max_age is not None and (facts.age is None or facts.age > rule.max_age):
        return False
    if rule.economic_statuses and facts.economic_status not in rule.economic_statuses:
        return False
    if rule.ability_levels and facts.ability_level not in rule.ability_levels:
        return False
    return not (rule.star_levels and facts.star_level not in rule.star_levels)


def rule_for(rules, facts: Facts):
    """The one rule of a table that applies, or None."""
    for rule in rules:
        if matches(rule, facts):
            return rule
    return None


def _sets_meet(a: list, b: list) -> bool:
    return not a or not b or bool(set(a) & set(b))


def _ages_meet(a, b) -> bool:
    low = max(
        a.min_age if a.min_age is not None else -1, b.min_age if b.min_age is not None else -1
    )
    high = min(
        a.max_age if a.max_age is not None else 1000, b.max_age if b.max_age is not None else 1000
    )
    return low <= high


def overlap(a, b) -> bool:
    """Whether someone could match both rules."""
    return (
        _ages_meet(a, b)
        and _sets_meet(a.economic_statuses, b.economic_statuses)
        and _sets_meet(a.ability_levels, b.ability_levels)
        and _sets_meet(a.star_levels, b.star_levels)
    )


def overlap_errors(rules) -> list[str]:
    """Messages naming every pair of rows someone could match at once (rows count from 1)."""
    errors = []
    for i, a in enumerate(rules):
        for j in range(i + 1, len(rules)):
            if overlap(a, rules[j]):
                errors.append(
                    _("Rows %(a)d and %(b)d overlap: someone could match both.", a=i + 1, b=j + 1)
                )
    return errors
