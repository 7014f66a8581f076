"""Day-care centers (日间照料中心、农村幸福院、社区养老服务站): the center's settings and
closed days, members, daily attendance, meals (老年餐桌), activities and incidents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.beds.models import RISKS
from eldercare.core.crypto import EncryptedString
from eldercare.core.db import TimestampMixin, UTCDateTime, one_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility, FacilityKind, OfFacility
from eldercare.people.models import Person

#: Facility kinds that run day care: members, attendance, meals.
DAYCARE_KINDS = (
    FacilityKind.DAY_CARE.value,
    FacilityKind.HAPPINESS_HOME.value,
    FacilityKind.COMMUNITY_STATION.value,
)
#: Monday .. Sunday as Python's ``date.weekday()`` numbers them.
WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)
WEEKDAY_LABELS = {
    0: _l("Mon"),
    1: _l("Tue"),
    2: _l("Wed"),
    3: _l("Thu"),
    4: _l("Fri"),
    5: _l("Sat"),
    6: _l("Sun"),
}


class MealType(StrEnum):
    BREAKFAST = "breakfast"
    LUNCH = "lunch"
    DINNER = "dinner"


class ActivityCategory(StrEnum):
    CULTURE = "culture"
    EXERCISE = "exercise"
    HEALTH = "health"
    HANDICRAFT = "handicraft"
    SOCIAL = "social"
    OTHER = "other"


class Severity(StrEnum):
    MINOR = "minor"
    SERIOUS = "serious"
    CRITICAL = "critical"


MEAL_LABELS = {
    MealType.BREAKFAST: _l("Breakfast"),
    MealType.LUNCH: _l("Lunch"),
    MealType.DINNER: _l("Dinner"),
}
CATEGORY_LABELS = {
    ActivityCategory.CULTURE: _l("Culture and entertainment"),
    ActivityCategory.EXERCISE: _l("Exercise"),
    ActivityCategory.HEALTH: _l("Health talk or check"),
    ActivityCategory.HANDICRAFT: _l("Handicraft"),
    ActivityCategory.SOCIAL: _l("Social gathering"),
    ActivityCategory.OTHER: _l("Other"),
}
SEVERITY_LABELS = {
    Severity.MINOR: _l("Minor"),
    Severity.SERIOUS: _l("Serious"),
    Severity.CRITICAL: _l("Critical"),
}


#: Day-care records are scoped like every record of a facility.
FacilityRecord = OfFacility


class Center(FacilityRecord, TimestampMixin, db.Model):
    """A facility's day-care settings: how many people it takes, the days it opens, the
    meals it serves."""

    __tablename__ = "daycare_center"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), unique=True)
    capacity: Mapped[int] = mapped_column(default=30)
    open_days: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [0, 1, 2, 3, 4])
    meal_types: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: ["lunch"])
    #: Meal price and the subsidised share, integer fen (the subsidy program reads meals).
    meal_price_fen: Mapped[int] = mapped_column(default=1000)

    facility: Mapped[Facility] = relationship()

    __table_args__ = (
        sa.CheckConstraint("capacity BETWEEN 1 AND 10000", name="capacity_in_range"),
        sa.CheckConstraint("meal_price_fen BETWEEN 0 AND 100000", name="meal_price_in_range"),
    )

    def is_open_on(self, day: date, closed: set[date] | frozenset = frozenset()) -> bool:
        return day.weekday() in (self.open_days or []) and day not in closed


class ClosedDay(FacilityRecord, db.Model):
    """A day the center is closed although it is one of its opening days (holiday, repairs)."""

    __tablename__ = "daycare_closed_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(100), default="")

    __table_args__ = (sa.UniqueConstraint("facility_id", "day"),)


class Member(FacilityRecord, TimestampMixin, db.Model):
    """A registered person who attends a center on some days of the week."""

    __tablename__ = "daycare_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    joined_on: Mapped[date]
    left_on: Mapped[date | None]
    days: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    transport: Mapped[bool] = mapped_column(default=False)
    #: Meals of a member are subsidised by default (a 低保/特困 member, say).
    subsidised_meals: Mapped[bool] = mapped_column(default=False)
    # Dietary notes often say why (diabetes, swallowing): health data, encrypted at rest.
    dietary_notes: Mapped[str | None] = mapped_column(EncryptedString())
    emergency_contact: Mapped[str] = mapped_column(sa.String(50), default="")
    emergency_phone: Mapped[str] = mapped_column(sa.String(20), default="")

    person: Mapped[Person] = relationship()

    __table_args__ = (
        sa.Index(
            "uq_daycare_member_current",
            "facility_id",
            "person_id",
            unique=True,
            sqlite_where=sa.text("left_on IS NULL"),
            postgresql_where=sa.text("left_on IS NULL"),
        ),
        sa.CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joining"),
    )

    @property
    def days_label(self) -> str:
        return "、".join(str(WEEKDAY_LABELS[d]) for d in sorted(self.days or []))

    def expected_on(self, day: date) -> bool:
        return (
            self.joined_on <= day
            and (self.left_on is None or self.left_on >= day)
            and day.weekday() in (self.days or [])
        )


class Attendance(FacilityRecord, db.Model):
    """One person at one center on one day: checked in, and out again."""

    __tablename__ = "daycare_attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    day: Mapped[date]
    check_in_at: Mapped[datetime] = mapped_column(UTCDateTime())
    check_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Not a member on that day: came from the registry (a walk-in).
    walk_in: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    person: Mapped[Person] = relationship()

    @property
    def entered_later(self) -> bool:
        """Recorded on a later day from a paper sheet: its clock times are not the visit's."""
        from eldercare.core.db import local_date

        return local_date(self.check_in_at) != self.day

    __table_args__ = (
        sa.UniqueConstraint("facility_id", "day", "person_id"),
        sa.CheckConstraint(
            "check_out_at IS NULL OR check_out_at >= check_in_at", name="out_after_in"
        ),
    )


class Meal(FacilityRecord, db.Model):
    """A meal served to a person (老年餐桌), subsidised or not."""

    __tablename__ = "daycare_meal"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    day: Mapped[date]
    meal_type: Mapped[str] = mapped_column(sa.String(10))
    subsidised: Mapped[bool] = mapped_column(default=False)
    price_fen: Mapped[int] = mapped_column(default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    person: Mapped[Person] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("facility_id", "day", "person_id", "meal_type"),
        one_of("meal_type", MealType, "meal_type_known"),
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
    )

    @property
    def meal_label(self) -> str:
        return str(MEAL_LABELS[MealType(self.meal_type)])


activity_participant = sa.Table(
    "daycare_activity_participant",
    db.metadata,
    sa.Column(
        "activity_id",
        sa.ForeignKey("daycare_activity.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("person_id", sa.ForeignKey("person.id"), primary_key=True, index=True),
)


class Activity(FacilityRecord, TimestampMixin, db.Model):
    __tablename__ = "daycare_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(12))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    participants: Mapped[list[Person]] = relationship(
        secondary=activity_participant, order_by=Person.name
    )

    __table_args__ = (
        one_of("category", ActivityCategory, "category_known"),
        sa.CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
    )

    @property
    def category_label(self) -> str:
        return str(CATEGORY_LABELS[ActivityCategory(self.category)])


class Incident(FacilityRecord, TimestampMixin, db.Model):
    """An accident or near miss in one of the nine GB 38600 risk categories, with its
    follow-up until it is closed."""

    __tablename__ = "daycare_incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    risk: Mapped[str] = mapped_column(sa.String(20))
    severity: Mapped[str] = mapped_column(sa.String(10))
    # What happened to whom, and how they were hurt: health data, encrypted at rest.
    description: Mapped[str] = mapped_column(EncryptedString())
    action_taken: Mapped[str] = mapped_column(sa.String(500), default="")
    follow_up: Mapped[str] = mapped_column(sa.String(500), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    resolution: Mapped[str] = mapped_column(sa.String(500), default="")
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    person: Mapped[Person | None] = relationship()
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])

    __table_args__ = (
        sa.CheckConstraint(
            "risk IN (" + ", ".join(f"'{key}'" for key in RISKS) + ")", name="risk_known"
        ),
        one_of("severity", Severity, "severity_known"),
        sa.CheckConstraint("closed_at IS NULL OR resolution <> ''", name="closed_with_resolution"),
    )

    @property
    def risk_label(self) -> str:
        return str(RISKS[self.risk])

    @property
    def severity_label(self) -> str:
        return str(SEVERITY_LABELS[Severity(self.severity)])
