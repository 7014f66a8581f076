"""Bookable services of facilities and providers (探视预约, 日托试托, 助餐/助洁/助浴/助医,
入住申请), their availability rules and blackout days, the slots they open and the bookings
families make in them."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.db import TimestampMixin, UTCDateTime, one_of
from eldercare.core.permissions import Role, role_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility, FacilityKind, OfFacility
from eldercare.people.models import FamilyLink, LinkStatus, Person


class ServiceKind(StrEnum):
    VISIT = "visit"  # 探视预约: seeing a resident of a nursing home
    ADMISSION = "admission"  # 入住申请: accepted by reserving a bed
    TRIAL_DAY = "trial_day"  # 日托试托: a day at a day-care center
    MEAL = "meal"  # 助餐
    CLEANING = "cleaning"  # 助洁
    BATHING = "bathing"  # 助浴
    ESCORT = "escort"  # 助医/陪诊


SERVICE_LABELS = {
    ServiceKind.VISIT: _l("Visit appointment"),
    ServiceKind.ADMISSION: _l("Admission application"),
    ServiceKind.TRIAL_DAY: _l("Day-care trial day"),
    ServiceKind.MEAL: _l("Meal service"),
    ServiceKind.CLEANING: _l("Cleaning service"),
    ServiceKind.BATHING: _l("Bathing service"),
    ServiceKind.ESCORT: _l("Medical escort"),
}

#: Services done at the relative's home: the booking says where.
HOME_SERVICES = frozenset(
    {ServiceKind.MEAL, ServiceKind.CLEANING, ServiceKind.BATHING, ServiceKind.ESCORT}
)
_HOMES = (FacilityKind.NURSING_HOME, FacilityKind.TOWNSHIP_HOME)
_DAY_CARE = (FacilityKind.DAY_CARE, FacilityKind.HAPPINESS_HOME, FacilityKind.COMMUNITY_STATION)
#: Which kinds of facility may offer which services.
OFFERED_BY = {
    ServiceKind.VISIT: _HOMES,
    ServiceKind.ADMISSION: _HOMES,
    ServiceKind.TRIAL_DAY: _DAY_CARE,
    **{kind: (FacilityKind.HOME_CARE_PROVIDER, *_DAY_CARE, *_HOMES) for kind in HOME_SERVICES},
}


def kinds_offered_by(facility_kind: str) -> list[ServiceKind]:
    return [kind for kind, offered in OFFERED_BY.items() if facility_kind in offered]


class BookingStatus(StrEnum):
    REQUESTED = "requested"  # waiting for the operator
    CONFIRMED = "confirmed"  # holds a place in its slot
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # by the family, or declined/cancelled by the operator
    NO_SHOW = "no_show"


STATUS_LABELS = {
    BookingStatus.REQUESTED: _l("Waiting for confirmation"),
    BookingStatus.CONFIRMED: _l("Confirmed"),
    BookingStatus.COMPLETED: _l("Completed"),
    BookingStatus.CANCELLED: _l("Cancelled"),
    BookingStatus.NO_SHOW: _l("Did not come"),
}
#: The reason of a request cancelled because nobody answered it before its start.
LAPSED_REASON = "not_answered"
#: The reason of a booking cancelled because its booker's family link was revoked.
LINK_REVOKED_REASON = "link_revoked"
#: The reasons of a booking cancelled because the registry records the person's death, or
#: a move out of the county.
DECEASED_REASON = "deceased"
MOVED_OUT_REASON = "moved_out"
DEPARTURE_NOTES = {
    DECEASED_REASON: _l("Cancelled when the person's death was recorded."),
    MOVED_OUT_REASON: _l("Cancelled when the person's move out of the county was recorded."),
}
#: Bookings that are still to happen: one relative may hold only one of these at a time.
OPEN_STATUSES = (BookingStatus.REQUESTED.value, BookingStatus.CONFIRMED.value)
#: Bookings counted in their slot's ``booked``: confirmed, and what confirmed ones became.
HOLDING_STATUSES = (
    BookingStatus.CONFIRMED.value,
    BookingStatus.COMPLETED.value,
    BookingStatus.NO_SHOW.value,
)


class Service(OfFacility, TimestampMixin, db.Model):
    """A service a facility offers for booking, with the rules of when it can be booked."""

    __tablename__ = "booking_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Price of one booking in fen; None: free of charge.
    price_fen: Mapped[int | None] = mapped_column()
    #: Monday = 0 .. Sunday = 6, as ``date.weekday()``.
    weekdays: Mapped[list[int]] = mapped_column(sa.JSON, default=lambda: [0, 1, 2, 3, 4])
    opens_at: Mapped[time] = mapped_column(sa.Time, default=time(9))
    closes_at: Mapped[time] = mapped_column(sa.Time, default=time(17))
    slot_minutes: Mapped[int] = mapped_column(default=60)
    #: Bookings one slot takes.
    capacity: Mapped[int] = mapped_column(default=1)
    #: A slot can be booked until this many hours before it starts.
    min_notice_hours: Mapped[int] = mapped_column(default=24)
    #: ... and at most this many days ahead.
    max_days_ahead: Mapped[int] = mapped_column(default=14)
    #: The family may cancel until this many hours before the start (later: phone them).
    cancel_hours: Mapped[int] = mapped_column(default=2)
    #: Confirmed at once while there is room; otherwise the operator confirms each request.
    auto_confirm: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)

    facility: Mapped[Facility] = relationship()

    __table_args__ = (
        one_of("kind", ServiceKind, "kind_known"),
        sa.CheckConstraint("price_fen IS NULL OR price_fen BETWEEN 0 AND 10000000", name="price"),
        sa.CheckConstraint("slot_minutes BETWEEN 15 AND 1440", name="slot_minutes"),
        sa.CheckConstraint("capacity BETWEEN 1 AND 1000", name="capacity"),
        sa.CheckConstraint("min_notice_hours BETWEEN 0 AND 720", name="min_notice"),
        sa.CheckConstraint("max_days_ahead BETWEEN 1 AND 366", name="max_days_ahead"),
        sa.CheckConstraint("cancel_hours BETWEEN 0 AND 168", name="cancel_hours"),
        sa.CheckConstraint("opens_at < closes_at", name="opening_hours"),
    )

    @property
    def kind_label(self) -> str:
        return str(SERVICE_LABELS[ServiceKind(self.kind)])

    @property
    def at_home(self) -> bool:
        return self.kind in HOME_SERVICES

    @property
    def confirms_at_once(self) -> bool:
        """Whether a booking is confirmed as it is made. Never an admission application:
        accepting one reserves a bed, which only the operator can choose."""
        return self.auto_confirm and self.kind != ServiceKind.ADMISSION

    def __repr__(self) -> str:
        return f"<Service {self.id} {self.kind} of facility {self.facility_id}>"


class Blackout(OfFacility, db.Model):
    """A day on which a service (or, with no service, all the facility's services) takes no
    bookings although it is one of its weekdays: a holiday, an outbreak, repairs."""

    __tablename__ = "booking_blackout"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"))
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking_service.id"))
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(100), default="")

    service: Mapped[Service | None] = relationship()

    __table_args__ = (sa.Index("ix_booking_blackout_facility_day", "facility_id", "day"),)


class Slot(OfFacility, db.Model):
    """One bookable time of a service, written when it is first booked. ``booked`` counts the
    bookings holding a place; it only grows through ``UPDATE ... WHERE booked < capacity``, so
    no two transactions can take the last place."""

    __tablename__ = "booking_slot"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("booking_service.id"))
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)

    service: Mapped[Service] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("service_id", "starts_at", name="uq_booking_slot_start"),
        sa.CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        sa.CheckConstraint("starts_at < ends_at", name="slot_times"),
    )


class Booking(TimestampMixin, db.Model):
    """A family member's booking of a service for a verified relative."""

    __tablename__ = "booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("booking_service.id"), index=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"))
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("booking_slot.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    #: The family member who booked.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(sa.String(16), default=BookingStatus.REQUESTED.value)
    #: How many visitors come (a visit appointment), else 1.
    party_size: Mapped[int] = mapped_column(default=1)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Where a home service is done (the relative's address).
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: None with ``confirmed_at`` set: confirmed automatically.
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: Why the operator declined or cancelled it, or the family's reason.
    reason: Mapped[str] = mapped_column(sa.String(255), default="")
    #: An admission application accepted: the bed reserved for the relative.
    reservation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bed_reservation.id"))

    service: Mapped[Service] = relationship()
    facility: Mapped[Facility] = relationship()
    slot: Mapped[Slot] = relationship()
    person: Mapped[Person] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    __table_args__ = (
        one_of("status", BookingStatus, "status_known"),
        sa.CheckConstraint("party_size BETWEEN 1 AND 10", name="party_size"),
        sa.CheckConstraint("starts_at < ends_at", name="booking_times"),
        # One open booking per relative and slot, whoever of the family makes it.
        sa.Index(
            "uq_booking_open_per_slot",
            "slot_id",
            "person_id",
            unique=True,
            sqlite_where=sa.text("status IN ('requested', 'confirmed')"),
            postgresql_where=sa.text("status IN ('requested', 'confirmed')"),
        ),
        # The operator's calendar: a facility's bookings by start.
        sa.Index("ix_booking_facility_start", "facility_id", "starts_at"),
    )

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[BookingStatus(self.status)])

    @property
    def lapsed(self) -> bool:
        """Cancelled by the scheduler: the facility never answered the request."""
        return (
            self.status == BookingStatus.CANCELLED.value
            and self.ended_by_id is None
            and self.reason == LAPSED_REASON
        )

    @property
    def departure_note(self):
        """Why a booking the registry's event cancelled ended, or None."""
        if self.status != BookingStatus.CANCELLED.value:
            return None
        return DEPARTURE_NOTES.get(self.reason)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_cancelled(self) -> bool:
        return self.status == BookingStatus.CANCELLED.value

    @classmethod
    def __scope__(cls, user):
        """Facility records for operators and staff; for a family member, the bookings of the
        relatives it is verified for (whoever of the family booked them)."""
        if role_of(user) == Role.FAMILY:
            return cls.person_id.in_(
                sa.select(FamilyLink.person_id).where(
                    FamilyLink.user_id == user.id,
                    FamilyLink.status == LinkStatus.VERIFIED.value,
                )
            )
        return OfFacility.__scope__.__func__(cls, user)

    def __repr__(self) -> str:
        return f"<Booking {self.id} {self.status}>"
