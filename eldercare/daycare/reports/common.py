"""What every day-care figure stands on: the period that counts, a center's settings as the
figures read them, open days and the people served (the definitions are in the package's
docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from eldercare.core.db import local_zone
from eldercare.core.periods import month_bounds
from eldercare.daycare.models import Attendance, Center, Meal, MealType

MEAL_TYPES = tuple(t.value for t in MealType)


def column_default(name: str):
    default = Center.__table__.c[name].default
    return default.arg(None) if default.is_callable else default.arg


@dataclass(frozen=True)
class CenterSettings:
    """What the figures need of a center's settings (the defaults when never configured)."""

    capacity: int
    open_days: frozenset[int]
    meal_types: tuple[str, ...]

    @classmethod
    def of(cls, center: Center | None) -> CenterSettings:
        if center is None:
            return cls(
                column_default("capacity"),
                frozenset(column_default("open_days")),
                tuple(column_default("meal_types")),
            )
        return cls(
            center.capacity, frozenset(center.open_days or ()), tuple(center.meal_types or ())
        )


@dataclass(frozen=True)
class Period:
    """The days of a month that count: its first day up to its last day or today."""

    month: date
    first: date
    last: date  # before ``first`` when the whole month is in the future

    @classmethod
    def of(cls, month: date, today: date) -> Period:
        first, nxt = month_bounds(month)
        return cls(first, first, min(nxt - timedelta(days=1), today))

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def start_at(self) -> datetime:
        """The period's first moment (county midnight) in UTC."""
        return midnight(self.first)

    @property
    def end_at(self) -> datetime:
        """The moment after the period (midnight after its last day) in UTC; the start
        itself for a month all in the future (an empty period)."""
        return midnight(max(self.last + timedelta(days=1), self.first))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


def open_days_in(settings: CenterSettings, period: Period, closed: set[date]) -> int:
    return sum(1 for d in period.days if d.weekday() in settings.open_days and d not in closed)


def ratio(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


def served_pairs(facility_ids, period: Period) -> sa.Subquery:
    """(facility_id, person_id) of everyone who attended or had a meal in the period."""
    attended = sa.select(Attendance.facility_id, Attendance.person_id).where(
        Attendance.facility_id.in_(facility_ids),
        Attendance.day.between(period.first, period.last),
    )
    fed = sa.select(Meal.facility_id, Meal.person_id).where(
        Meal.facility_id.in_(facility_ids), Meal.day.between(period.first, period.last)
    )
    return sa.union(attended, fed).subquery()
