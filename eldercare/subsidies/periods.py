"""Billing periods are dates: the first day of a month, quarter or year."""

from __future__ import annotations

from datetime import date, timedelta

from eldercare.subsidies.models import MONTHS_IN, Frequency, Timing


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start(day: date) -> date:
    return day.replace(day=1)


def period_containing(frequency: str, day: date) -> date:
    months = MONTHS_IN[Frequency(frequency)]
    first_month = (day.month - 1) // months * months + 1
    return date(day.year, first_month, 1)


def is_period_start(frequency: str, day: date) -> bool:
    return period_containing(frequency, day) == day


def next_period(frequency: str, period: date) -> date:
    return add_months(period, MONTHS_IN[Frequency(frequency)])


def previous_period(frequency: str, period: date) -> date:
    return add_months(period, -MONTHS_IN[Frequency(frequency)])


def periods_between(frequency: str, first: date, before: date) -> list[date]:
    """The periods from ``first``'s period up to, not including, ``before``."""
    out, period = [], period_containing(frequency, first)
    while period < before:
        out.append(period)
        period = next_period(frequency, period)
    return out


def due_on(frequency: str, timing: str, pay_day: int, period: date) -> date:
    """When a period's money must reach the bank: in the period for payment in advance,
    in the month after it for payment in arrears."""
    month = period if timing == Timing.ADVANCE.value else next_period(frequency, period)
    return month.replace(day=pay_day)


def age_reference(period: date) -> date:
    """The day a person's age is taken for a period: the day before it starts, so a birthday
    changes the amount from the next period on (turning 90 on 15 March pays the 90+ rate from
    April)."""
    return period - timedelta(days=1)


def facility_reference(frequency: str, timing: str, period: date) -> date:
    """The day a facility's beds, members and star level are counted for a period: the eve
    of the period when paid in advance, its last day when paid in arrears."""
    if timing == Timing.ADVANCE.value:
        return period - timedelta(days=1)
    return next_period(frequency, period) - timedelta(days=1)


def label(frequency: str, period: date) -> str:
    """2026-03, 2026 Q1 or 2026, as a bank file or a report names the period."""
    if frequency == Frequency.QUARTERLY.value:
        return f"{period.year}Q{(period.month - 1) // 3 + 1}"
    if frequency == Frequency.YEARLY.value:
        return str(period.year)
    return f"{period.year}-{period.month:02d}"
