"""Care targets (探访对象), their visitors, visits, follow-ups, major events and the county's
visit policy (tiers and intervals as data, never constants)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.crypto import EncryptedString
from eldercare.core.db import DefaultsMixin, TimestampMixin, UTCDateTime, local_date, one_of, utcnow
from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.extensions import db
from eldercare.people.models import AbilityLevel, Person
from eldercare.regions.models import Region


class Tier(StrEnum):
    """Risk tier: high (weekly by default), key (monthly), general (quarterly)."""

    HIGH = "high"
    KEY = "key"
    GENERAL = "general"


class Category(StrEnum):
    """The covered categories of the 2022 guidance (民政部等10部门)."""

    LIVES_ALONE = "lives_alone"
    EMPTY_NEST = "empty_nest"
    LEFT_BEHIND = "left_behind"
    DISABLED = "disabled"
    SEVERELY_HANDICAPPED = "severely_handicapped"
    SPECIAL_FAMILY = "special_family"


class RateBasis(StrEnum):
    """What a county's monthly visit rate counts (its choice, on its visit rules page)."""

    #: Every covered person visited at least once in the month (the national target's words).
    COVERED = "covered"
    #: Of the people whose visit fell due in the month (or was overdue at its start), those
    #: visited in it: a quarterly person counts only in the month of the visit.
    DUE = "due"


class Method(StrEnum):
    HOME = "home"
    PHONE = "phone"
    VIDEO = "video"
    OTHER = "other"


class DueStatus(StrEnum):
    OVERDUE = "overdue"
    DUE = "due"
    UPCOMING = "upcoming"
    DONE = "done"


class EventKind(StrEnum):
    ILLNESS = "illness"
    FALL = "fall"
    DISASTER = "disaster"
    OTHER = "other"


class EndReason(StrEnum):
    DEATH = "death"
    MOVED = "moved"
    FACILITY = "facility"
    NO_LONGER_ELIGIBLE = "no_longer_eligible"
    WITHDRAWN = "withdrawn"


TIER_LABELS = {
    Tier.HIGH: _l("High risk"),
    Tier.KEY: _lp("visit tier", "Key"),
    Tier.GENERAL: _l("General"),
}
CATEGORY_LABELS = {
    Category.LIVES_ALONE: _l("Living alone"),
    Category.EMPTY_NEST: _l("Empty nest"),
    Category.LEFT_BEHIND: _l("Left behind"),
    Category.DISABLED: _lp("visit category", "Disabled"),
    Category.SEVERELY_HANDICAPPED: _l("Severely handicapped"),
    Category.SPECIAL_FAMILY: _l("Family-planning special family"),
}
RATE_BASIS_LABELS = {
    RateBasis.COVERED: _l("Every person to visit, visited in the month"),
    RateBasis.DUE: _l("Visits done among visits due in the month"),
}
RATE_BASIS_HELP = {
    RateBasis.COVERED: _l(
        "The share of the people to visit during the month (enrolled by its end and not ended "
        "before its start) who were visited at least once in the month. A person visited "
        "quarterly counts every month, as the national target of visiting everyone monthly reads."
    ),
    RateBasis.DUE: _l(
        "The share of the people whose visit fell due during the month (from their last visit "
        "before it and the interval of their tier today), or was already overdue at its start, "
        "who were visited in the month. A person visited quarterly counts only in the month "
        "the visit is due."
    ),
}
METHOD_LABELS = {
    Method.HOME: _l("Home visit"),
    Method.PHONE: _l("Phone call"),
    Method.VIDEO: _l("Video call"),
    Method.OTHER: _l("Other"),
}
STATUS_LABELS = {
    DueStatus.OVERDUE: _l("Overdue"),
    DueStatus.DUE: _lp("visit status", "Due"),
    DueStatus.UPCOMING: _l("Upcoming"),
    DueStatus.DONE: _l("Visited"),
}
EVENT_LABELS = {
    EventKind.ILLNESS: _l("Serious illness"),
    EventKind.FALL: _l("Fall"),
    EventKind.DISASTER: _l("Disaster"),
    EventKind.OTHER: _l("Other major event"),
}
END_LABELS = {
    EndReason.DEATH: _l("Died"),
    EndReason.MOVED: _l("Moved away"),
    EndReason.FACILITY: _l("Moved into a care facility"),
    EndReason.NO_LONGER_ELIGIBLE: _l("No longer in a covered category"),
    EndReason.WITHDRAWN: _l("Declined visits"),
}

#: Structured findings of a visit: field -> its choices (first = no concern).
FINDING_CHOICES: dict[str, dict[str, object]] = {
    "living_conditions": {
        "good": _l("Good"),
        "fair": _l("Fair"),
        "poor": _l("Poor"),
    },
    "health": {
        "stable": _l("Stable"),
        "changed": _l("Changed"),
        "poor": _l("Poor, needs care"),
    },
    "mood": {
        "good": _l("Good"),
        "fair": _l("Fair"),
        "low": _l("Low spirits"),
    },
    "family_support": {
        "fulfilled": _l("Family meets its duty"),
        "partial": _l("Partly"),
        "absent": _lp("family support", "Not met"),
    },
}
FINDING_LABELS = {
    "living_conditions": _l("Living conditions"),
    "health": _l("Health"),
    "mood": _l("Mood"),
    "family_support": _l("Family support"),
}

ABILITY_ORDER = [level.value for level in AbilityLevel]


class VisitPolicy(DefaultsMixin, TimestampMixin, db.Model):
    """A county's rules: how a tier is computed from a person's data, the visit interval of
    each tier, and the reminder timings. A county without a row uses the defaults."""

    __tablename__ = "visit_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), unique=True)
    high_interval_days: Mapped[int] = mapped_column(default=7)
    key_interval_days: Mapped[int] = mapped_column(default=30)
    general_interval_days: Mapped[int] = mapped_column(default=90)
    #: First visit of a newly enrolled person is due this many days after enrolment.
    first_visit_days: Mapped[int] = mapped_column(default=7)
    #: Age from which living alone / empty nest / left behind makes the tier high.
    high_risk_age: Mapped[int] = mapped_column(default=80)
    #: Ability level (GB/T 42195) from which the tier is high, and from which it is key.
    high_ability_level: Mapped[str] = mapped_column(sa.String(16), default=AbilityLevel.TOTAL.value)
    key_ability_level: Mapped[str] = mapped_column(
        sa.String(16), default=AbilityLevel.MODERATE.value
    )
    #: Visits due within this many days are listed in the visitor's daily digest.
    due_soon_days: Mapped[int] = mapped_column(default=3)
    #: Overdue this many days: township staff are alerted.
    escalation_days: Mapped[int] = mapped_column(default=7)
    #: A major event (illness, fall, disaster) must be followed by a visit within this time.
    event_visit_hours: Mapped[int] = mapped_column(default=24)
    #: What the county's monthly visit rate counts (``RateBasis``).
    rate_basis: Mapped[str] = mapped_column(
        sa.String(10), default=RateBasis.COVERED.value, server_default=RateBasis.COVERED.value
    )
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    region: Mapped[Region] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "high_interval_days BETWEEN 1 AND 366 AND key_interval_days BETWEEN 1 AND 366"
            " AND general_interval_days BETWEEN 1 AND 366",
            name="intervals_in_range",
        ),
        one_of("high_ability_level", AbilityLevel, "high_ability_known"),
        one_of("key_ability_level", AbilityLevel, "key_ability_known"),
        one_of("rate_basis", RateBasis, "rate_basis_known"),
    )

    def interval_days(self, tier: str) -> int:
        return {
            Tier.HIGH.value: self.high_interval_days,
            Tier.KEY.value: self.key_interval_days,
            Tier.GENERAL.value: self.general_interval_days,
        }[tier]

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role in STAFF_ROLES and user.region is not None:
            return cls.region_id.in_(Region.subtree_ids(user.region))
        return None


class CareTarget(TimestampMixin, db.Model):
    """A person enrolled for regular visits: tier, visitors, and the next visit due.

    ``next_due_on`` and ``urgent_due_at`` are kept by ``operations.refresh_due`` whenever
    the tier, the policy, a visit or an event changes, so lists and the scheduler read them
    with an index instead of recomputing every person's history."""

    __tablename__ = "care_target"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), unique=True)
    #: The person's county, fixed at enrolment, whose policy applies.
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    computed_tier: Mapped[str] = mapped_column(sa.String(10))
    override_tier: Mapped[str | None] = mapped_column(sa.String(10))
    override_reason: Mapped[str] = mapped_column(sa.String(255), default="")
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enrolled_on: Mapped[date]
    enrolled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    active: Mapped[bool] = mapped_column(default=True)
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(24))
    last_visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_due_on: Mapped[date | None] = mapped_column(index=True)
    #: Set while a major event waits for its visit (event time + the policy's hours).
    urgent_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: The missed due date (or event deadline) township staff were last alerted of.
    escalated_for: Mapped[str | None] = mapped_column(sa.String(40))

    person: Mapped[Person] = relationship()
    county: Mapped[Region] = relationship()
    assignments: Mapped[list[CareAssignment]] = relationship(
        back_populates="target", cascade="all, delete-orphan", order_by="CareAssignment.id"
    )

    __table_args__ = (
        one_of("computed_tier", Tier, "computed_tier_known"),
        sa.CheckConstraint(
            "override_tier IS NULL OR override_tier IN ('high', 'key', 'general')",
            name="override_tier_known",
        ),
        sa.CheckConstraint(
            "override_tier IS NULL OR override_reason <> ''", name="override_has_reason"
        ),
        sa.CheckConstraint(
            "(active AND ended_on IS NULL) OR (NOT active AND ended_on IS NOT NULL)",
            name="ended_when_inactive",
        ),
        sa.Index("ix_care_target_active_due", "active", "next_due_on"),
    )

    @property
    def tier(self) -> str:
        return self.override_tier or self.computed_tier

    @property
    def tier_label(self) -> str:
        return str(TIER_LABELS[Tier(self.tier)])

    @property
    def category_labels(self) -> list[str]:
        return [str(CATEGORY_LABELS[Category(c)]) for c in self.categories or []]

    @property
    def visitors(self) -> list[User]:
        return [a.visitor for a in self.assignments]

    def status_on(self, today: date, now: datetime | None = None, due_soon_days: int = 3) -> str:
        """upcoming / due / overdue / done, from the stored due dates.

        Overdue: the due date has passed, or a major event's visit deadline has. Done: the
        person was visited today and nothing is overdue. Due: the visit falls due within
        ``due_soon_days``."""
        now = now or utcnow()
        if not self.active or self.next_due_on is None:
            return DueStatus.UPCOMING.value
        if self.urgent_due_at is not None and self.urgent_due_at <= now:
            return DueStatus.OVERDUE.value
        if self.next_due_on < today:
            return DueStatus.OVERDUE.value
        if self.urgent_due_at is not None:  # a major event waits for its visit
            return DueStatus.DUE.value
        if self.last_visit_at is not None and local_date(self.last_visit_at) == today:
            return DueStatus.DONE.value
        if self.next_due_on <= today + timedelta(days=due_soon_days):
            return DueStatus.DUE.value
        return DueStatus.UPCOMING.value

    def days_overdue(self, today: date) -> int:
        if self.next_due_on is None or self.next_due_on >= today:
            return 0
        return (today - self.next_due_on).days

    @classmethod
    def __scope__(cls, user):
        role = role_of(user)
        if role == Role.ADMIN:
            return sa.true()
        if role in STAFF_ROLES and user.region is not None:
            return cls.person_id.in_(
                sa.select(Person.id).where(Person.region_id.in_(Region.subtree_ids(user.region)))
            )
        if role == Role.VISITOR:
            return cls.id.in_(
                sa.select(CareAssignment.target_id).where(CareAssignment.visitor_id == user.id)
            )
        return None

    def __repr__(self) -> str:
        return f"<CareTarget {self.id} person={self.person_id} {self.tier}>"


class CareAssignment(db.Model):
    """A visitor assigned to a care target (a person may have several)."""

    __tablename__ = "care_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("care_target.id"), index=True)
    visitor_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    target: Mapped[CareTarget] = relationship(back_populates="assignments")
    visitor: Mapped[User] = relationship(foreign_keys=[visitor_id])

    __table_args__ = (sa.UniqueConstraint("target_id", "visitor_id"),)


class OfTarget:
    """A record that belongs to a care target is seen by whoever sees the target."""

    @classmethod
    def __scope__(cls, user):
        targets = CareTarget.__scope__(user)
        if targets is None:  # fail closed, visibly (not by a WHERE NULL)
            return None
        return cls.target_id.in_(sa.select(CareTarget.id).where(targets))


class Visit(OfTarget, TimestampMixin, db.Model):
    """One visit (or call) with its structured findings."""

    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed with visited_at below (a plan's visits in time order).
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("care_target.id"))
    visitor_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    method: Mapped[str] = mapped_column(sa.String(10))
    living_conditions: Mapped[str] = mapped_column(sa.String(10))
    health: Mapped[str] = mapped_column(sa.String(10))
    mood: Mapped[str] = mapped_column(sa.String(10))
    family_support: Mapped[str] = mapped_column(sa.String(10))
    safety_hazards: Mapped[str] = mapped_column(sa.String(500), default="")
    services_received: Mapped[str] = mapped_column(sa.String(500), default="")
    needs_referred: Mapped[str] = mapped_column(sa.String(500), default="")
    summary: Mapped[str] = mapped_column(sa.String(1000), default="")
    # Health details and where the person was met are sensitive: encrypted at rest.
    health_notes: Mapped[str | None] = mapped_column(EncryptedString())
    location_text: Mapped[str | None] = mapped_column(EncryptedString())
    #: Made by the visitor's phone for each draft: a form sent twice (lost signal, a retry
    #: after signing in again) records one visit.
    client_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    target: Mapped[CareTarget] = relationship()
    visitor: Mapped[User] = relationship()
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="visit", order_by="FollowUp.id"
    )

    __table_args__ = (
        one_of("method", Method, "method_known"),
        sa.CheckConstraint(
            "living_conditions IN ('good', 'fair', 'poor')", name="living_conditions_known"
        ),
        sa.CheckConstraint("health IN ('stable', 'changed', 'poor')", name="health_known"),
        sa.CheckConstraint("mood IN ('good', 'fair', 'low')", name="mood_known"),
        sa.CheckConstraint(
            "family_support IN ('fulfilled', 'partial', 'absent')", name="family_support_known"
        ),
        sa.Index("ix_visit_target_visited", "target_id", "visited_at"),
    )

    @property
    def method_label(self) -> str:
        return str(METHOD_LABELS[Method(self.method)])

    def finding_label(self, name: str) -> str:
        return str(FINDING_CHOICES[name][getattr(self, name)])

    @property
    def concerns(self) -> list[str]:
        """The findings that are not the first (no-concern) choice."""
        out = []
        for name, choices in FINDING_CHOICES.items():
            if getattr(self, name) != next(iter(choices)):
                out.append(f"{FINDING_LABELS[name]}: {choices[getattr(self, name)]}")
        if self.safety_hazards:
            out.append(str(_l("Safety hazards")) + ": " + self.safety_hazards)
        return out


class FollowUp(OfTarget, TimestampMixin, db.Model):
    """A problem found on a visit, assigned to someone, due, and closed with a resolution."""

    __tablename__ = "visit_follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visit.id"), index=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("care_target.id"), index=True)
    problem: Mapped[str] = mapped_column(sa.String(500))
    assigned_to_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    due_on: Mapped[date]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    resolution: Mapped[str] = mapped_column(sa.String(500), default="")

    visit: Mapped[Visit] = relationship(back_populates="follow_ups")
    target: Mapped[CareTarget] = relationship()
    assigned_to: Mapped[User] = relationship(foreign_keys=[assigned_to_id])

    __table_args__ = (
        sa.CheckConstraint("closed_at IS NULL OR resolution <> ''", name="closed_with_resolution"),
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class MajorEvent(OfTarget, TimestampMixin, db.Model):
    """An illness, fall or disaster that calls for a visit within the policy's hours."""

    __tablename__ = "visit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(sa.ForeignKey("care_target.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    visit_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_by_visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit.id"))

    target: Mapped[CareTarget] = relationship()

    __table_args__ = (one_of("kind", EventKind, "kind_known"),)

    @property
    def kind_label(self) -> str:
        return str(EVENT_LABELS[EventKind(self.kind)])


def ability_at_least(level: str | None, threshold: str) -> bool:
    return level is not None and ABILITY_ORDER.index(level) >= ABILITY_ORDER.index(threshold)
