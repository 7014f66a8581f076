"""Counting days the way a notice is counted, one rule for every feature."""

from __future__ import annotations

from datetime import date, timedelta


def notice_ends_on(start: date, days: int) -> date:
    """The last day of a public notice (公示) of ``days`` days starting on ``start``: the
    start day counts, so a 7-day notice from Monday 7 December runs through Sunday 13
    December (D..D+6, seven calendar days) and objections are taken up to that day."""
    if days < 1:
        raise ValueError("a notice lasts at least one day")
    return start + timedelta(days=days - 1)
