"""Counting days, one rule for every feature: a notice's days, a month's bounds."""

from __future__ import annotations

from datetime import date, timedelta


def notice_ends_on(start: date, days: int) -> date:
    """The last day of a public notice (公示) of ``days`` days starting on ``start``: the
    start day counts, so a 7-day notice from Monday 7 December runs through Sunday 13
    December (D..D+6, seven calendar days) and objections are taken up to that day."""
    if days < 1:
        raise ValueError("a notice lasts at least one day")
    return start + timedelta(days=days - 1)


def month_bounds(month: date) -> tuple[date, date]:
    """First day of the month and first day of the next."""
    first = month.replace(day=1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt
