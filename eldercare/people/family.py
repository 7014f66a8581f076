"""What a family member sees of a verified relative: only what a relative may know, copied
out field by field, so no health data, full ID or account number can reach the page by
accident. Each feature that has something to say answers ``signals.family_sections`` with
its lines (beds the stay, visits the visits, subsidies the payments, bookings the
bookings); the registry knows none of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from eldercare.core.signals import merged
from eldercare.people import signals
from eldercare.people.models import Person


@dataclass(frozen=True)
class StayLine:
    facility_name: str
    admitted_on: date
    care_type_label: str


@dataclass(frozen=True)
class VisitLine:
    visited_at: datetime
    method_label: str
    summary: str


@dataclass(frozen=True)
class PaymentLine:
    period: date
    amount_fen: int
    status_label: str


@dataclass(frozen=True)
class SubsidyLine:
    program_name: str
    status_label: str
    account_masked: str
    payments: list[PaymentLine] = field(default_factory=list)


@dataclass(frozen=True)
class BookingLine:
    booking_id: int
    starts_at: datetime
    ends_at: datetime
    service_name: str
    facility_name: str
    status: str
    status_label: str


@dataclass(frozen=True)
class FamilyView:
    """Only what a relative may know: copied out field by field, so no health data, full ID
    or account number can reach the page by accident."""

    stay: StayLine | None
    visits: list[VisitLine]
    subsidies: list[SubsidyLine]
    bookings: list[BookingLine] = field(default_factory=list)


#: How far back a family member sees visits.
FAMILY_VISIT_DAYS = 365
#: Payments shown per subsidy.
FAMILY_PAYMENTS = 6
#: Payment states a family member sees: decided by the county (a draft batch is not).
FAMILY_PAYMENT_STATES = ("approved", "exported", "paid", "failed", "returned", "reversed")


def family_view(person: Person) -> FamilyView:
    """The current stay, last year's visits, open subsidies and bookings of a verified
    relative. The caller has checked that the relative is in the family member's scope."""
    sections = merged(signals.family_sections, person)
    return FamilyView(
        stay=sections.get("stay"),
        visits=sections.get("visits", []),
        subsidies=sections.get("subsidies", []),
        bookings=sections.get("bookings", []),
    )
