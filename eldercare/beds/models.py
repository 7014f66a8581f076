"""Rooms, beds (一床一码), stays with their history, leaves, reservations and outages.

The database holds the invariants: one open stay per bed and per person (partial unique
indexes, and on PostgreSQL an exclusion constraint over stay periods), one active
reservation and one open outage per bed. ``Bed.status`` is what the board shows; it is set
by the operations in the same transaction as the rows that justify it.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from eldercare.core.crypto import EncryptedString
from eldercare.core.db import TimestampMixin, UTCDateTime, one_of, utcnow
from eldercare.core.errors import CONSTRAINT_MESSAGES
from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Region


class CareType(StrEnum):
    NURSING = "nursing"
    GENERAL = "general"
    DEMENTIA = "dementia"


class BedStatus(StrEnum):
    VACANT = "vacant"
    OCCUPIED = "occupied"
    RESERVED = "reserved"
    HELD = "held"  # the resident is on leave; the bed stays theirs
    OUT_OF_SERVICE = "out_of_service"


#: What the bed page offers for a bed in each status it shows; the operations refuse the
#: same actions in any other status.
BED_ACTIONS = {
    BedStatus.VACANT.value: frozenset({"admit", "reserve", "out_of_service"}),
    BedStatus.RESERVED.value: frozenset({"admit", "release"}),
    BedStatus.OCCUPIED.value: frozenset({"discharge", "transfer", "leave"}),
    BedStatus.HELD.value: frozenset({"discharge", "transfer", "end_leave"}),
    BedStatus.OUT_OF_SERVICE.value: frozenset({"back_in_service"}),
}


class DischargeReason(StrEnum):
    HOME = "home"
    HOSPITAL = "hospital"
    TRANSFER_OUT = "transfer_out"
    DEATH = "death"
    TRANSFER = "transfer"  # moved to another bed of the same facility


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: The nine risks GB 38600-2019 asks a home to assess on admission.
RISKS = {
    "choking": _l("Choking"),
    "wrong_intake": _l("Wrong food or medicine"),
    "pressure_ulcer": _l("Pressure ulcers"),
    "scald": _l("Scalds"),
    "fall_from_bed": _l("Falls from bed"),
    "fall": _l("Falls"),
    "wandering": _l("Wandering off"),
    "harm": _l("Harm to self or others"),
    "activity_accident": _l("Accidents in activities"),
}
CARE_TYPE_LABELS = {
    CareType.NURSING: _l("Nursing bed"),
    CareType.GENERAL: _l("General bed"),
    CareType.DEMENTIA: _l("Dementia care bed"),
}
STATUS_LABELS = {
    BedStatus.VACANT: _l("Vacant"),
    BedStatus.OCCUPIED: _l("Occupied"),
    BedStatus.RESERVED: _l("Reserved"),
    BedStatus.HELD: _l("Held (resident on leave)"),
    BedStatus.OUT_OF_SERVICE: _l("Out of service"),
}
DISCHARGE_LABELS = {
    DischargeReason.HOME: _l("Went home"),
    DischargeReason.HOSPITAL: _l("Moved to hospital"),
    DischargeReason.TRANSFER_OUT: _l("Moved to another facility"),
    DischargeReason.DEATH: _l("Died"),
    DischargeReason.TRANSFER: _l("Moved to another bed here"),
}
RISK_LEVEL_LABELS = {
    RiskLevel.LOW: _l("Low"),
    RiskLevel.MEDIUM: _l("Medium"),
    RiskLevel.HIGH: _l("High"),
}


def bed_place(floor: int, room_title: str, label: str) -> str:
    """Floor · room · bed, translated (for a bed read as plain columns, e.g. on the board)."""
    return " · ".join(
        (
            _("Floor %(n)s", n=floor),
            _("Room %(room)s", room=room_title),
            _("Bed %(label)s", label=label),
        )
    )


def _facility_scope(cls, user):
    """Operators see their facility's rows; staff those of facilities in their region."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role == Role.OPERATOR:
        return cls.facility_id == user.facility_id
    if role in STAFF_ROLES and user.region is not None:
        return cls.facility_id.in_(
            sa.select(Facility.id).where(Facility.region_id.in_(Region.subtree_ids(user.region)))
        )
    return None


class Room(TimestampMixin, db.Model):
    __tablename__ = "room"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    building: Mapped[str] = mapped_column(sa.String(20), default="")
    floor: Mapped[int] = mapped_column(default=1)
    number: Mapped[str] = mapped_column(sa.String(20))

    facility: Mapped[Facility] = relationship()
    beds: Mapped[list[Bed]] = relationship(back_populates="room", order_by="Bed.label")

    __table_args__ = (sa.UniqueConstraint("facility_id", "building", "number"),)

    __scope__ = classmethod(_facility_scope)

    @property
    def title(self) -> str:
        return f"{self.building}{self.number}"


class Bed(TimestampMixin, db.Model):
    __tablename__ = "bed"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 一床一码: assigned once, never changes, unique everywhere.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("room.id"), index=True)
    label: Mapped[str] = mapped_column(sa.String(10))
    care_type: Mapped[str] = mapped_column(sa.String(16), index=True)
    monthly_price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16), default=BedStatus.VACANT.value, index=True)
    #: The status as of now, when a read asks for it (``with_expression(Bed.status_now,
    #: status_now(now))``): a bed whose reservation has run out is shown vacant, without
    #: writing, until the scheduled job ends the reservation. None when not asked for.
    status_now: Mapped[str | None] = query_expression()

    room: Mapped[Room] = relationship(back_populates="beds")
    facility: Mapped[Facility] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("room_id", "label"),
        one_of("care_type", CareType, "care_type_known"),
        one_of("status", BedStatus, "status_known"),
        sa.CheckConstraint("monthly_price_fen >= 0", name="price_not_negative"),
        sa.Index("ix_bed_facility_status", "facility_id", "status", "care_type"),
    )

    __scope__ = classmethod(_facility_scope)

    @property
    def place_label(self) -> str:
        """Where the bed is, as people find it: floor · room · bed ("3 楼 · 301 房间 · 2 床")."""
        return bed_place(self.room.floor, self.room.title, self.label)

    @property
    def title(self) -> str:
        """The one label of a bed wherever it is named (selects, titles, messages, audit):
        its place, then its 一床一码 code, which alone tells a person nothing."""
        return f"{self.place_label} ({self.code})"

    @property
    def care_type_label(self) -> str:
        return str(CARE_TYPE_LABELS[CareType(self.care_type)])

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[BedStatus(self.status)])

    @property
    def shown_status(self) -> str:
        """The status a page or an answer shows: as of now when the read asked for it."""
        return self.status_now or self.status

    @property
    def actions(self) -> frozenset[str]:
        """What may be done to the bed as it shows now (see BED_ACTIONS)."""
        return BED_ACTIONS.get(self.shown_status, frozenset())

    @property
    def is_vacant_now(self) -> bool:
        return self.shown_status == BedStatus.VACANT.value

    @property
    def shown_status_label(self) -> str:
        return str(STATUS_LABELS[BedStatus(self.shown_status)])

    @property
    def monthly_price_yuan(self) -> str:
        return f"{self.monthly_price_fen // 100}.{self.monthly_price_fen % 100:02d}"


class Stay(TimestampMixin, db.Model):
    """A resident in a bed from ``admitted_on`` to ``discharged_on`` (exclusive; open: NULL)."""

    __tablename__ = "stay"

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(sa.ForeignKey("bed.id"), index=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    admitted_on: Mapped[date]
    discharged_on: Mapped[date | None]
    discharge_reason: Mapped[str | None] = mapped_column(sa.String(16))
    previous_stay_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stay.id"))
    # The GB 38600 admission risk assessment is health data: encrypted (JSON text).
    risk_assessment: Mapped[str | None] = mapped_column(EncryptedString())
    #: The admission note (carried to the next stay on a transfer).
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    discharge_note: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")

    bed: Mapped[Bed] = relationship()
    person: Mapped[Person] = relationship()
    previous: Mapped[Stay | None] = relationship(remote_side=[id])
    leaves: Mapped[list[Leave]] = relationship(back_populates="stay", order_by="Leave.start_on")

    __table_args__ = (
        sa.CheckConstraint(
            "discharged_on IS NULL OR discharged_on >= admitted_on",
            name="discharge_after_admission",
        ),
        one_of("discharge_reason", DischargeReason, "discharge_reason_known"),
        # One open stay per bed, and a person in one bed at a time.
        sa.Index(
            "uq_stay_open_bed",
            "bed_id",
            unique=True,
            sqlite_where=sa.text("discharged_on IS NULL"),
            postgresql_where=sa.text("discharged_on IS NULL"),
        ),
        sa.Index(
            "uq_stay_open_person",
            "person_id",
            unique=True,
            sqlite_where=sa.text("discharged_on IS NULL"),
            postgresql_where=sa.text("discharged_on IS NULL"),
        ),
        sa.Index("ix_stay_period", "facility_id", "admitted_on", "discharged_on"),
    )

    __scope__ = classmethod(_facility_scope)

    @property
    def is_open(self) -> bool:
        return self.discharged_on is None

    @property
    def first_stay(self) -> Stay:
        """The stay that began the resident's time in this facility: a transfer to another
        bed starts a new stay, linked to the one it continues."""
        stay, seen = self, {self.id}
        while stay.previous is not None and stay.previous.id not in seen:
            stay = stay.previous
            seen.add(stay.id)
        return stay

    @property
    def first_admitted_on(self) -> date:
        """When the resident was admitted to the facility, whatever beds they moved to since."""
        return self.first_stay.admitted_on

    @property
    def risks(self) -> dict[str, str]:
        """The admission risk assessment, risk code to level (decrypted)."""
        return json.loads(self.risk_assessment) if self.risk_assessment else {}

    @property
    def current_leave(self) -> Leave | None:
        return next((leave for leave in self.leaves if leave.end_on is None), None)

    @property
    def discharge_label(self) -> str:
        return (
            str(DISCHARGE_LABELS[DischargeReason(self.discharge_reason)])
            if self.discharge_reason
            else ""
        )


class Leave(TimestampMixin, db.Model):
    """A leave of absence: the resident is away, the bed is held for them."""

    __tablename__ = "stay_leave"

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(sa.ForeignKey("stay.id"), index=True)
    start_on: Mapped[date]
    end_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(sa.String(255), default="")

    stay: Mapped[Stay] = relationship(back_populates="leaves")

    __table_args__ = (
        sa.CheckConstraint("end_on IS NULL OR end_on >= start_on", name="end_after_start"),
        sa.Index(
            "uq_stay_leave_open",
            "stay_id",
            unique=True,
            sqlite_where=sa.text("end_on IS NULL"),
            postgresql_where=sa.text("end_on IS NULL"),
        ),
    )


class Reservation(TimestampMixin, db.Model):
    """A bed kept for someone until ``expires_at``; after that it is free again."""

    __tablename__ = "bed_reservation"

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(sa.ForeignKey("bed.id"), index=True)
    facility_id: Mapped[int] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    holder_name: Mapped[str] = mapped_column(sa.String(50))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Ended: released by hand, expired, or turned into a stay. Open while NULL.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(sa.String(16))

    bed: Mapped[Bed] = relationship()

    @property
    def shown_end(self) -> datetime | None:
        """When it ended, as pages show it: its end, or its expiry once that has passed (the
        scheduled job records that end a few minutes later, at the expiry time)."""
        if self.ended_at is None and self.expires_at <= utcnow():
            return self.expires_at
        return self.ended_at

    __table_args__ = (
        sa.Index(
            "uq_bed_reservation_open",
            "bed_id",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    __scope__ = classmethod(_facility_scope)


class Outage(TimestampMixin, db.Model):
    """A bed out of service (repairs, infection control...) from ``start_on`` to ``end_on``."""

    __tablename__ = "bed_outage"

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(sa.ForeignKey("bed.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(255))
    start_on: Mapped[date]
    end_on: Mapped[date | None]

    bed: Mapped[Bed] = relationship()

    __table_args__ = (
        sa.CheckConstraint("end_on IS NULL OR end_on >= start_on", name="end_after_start"),
        sa.Index(
            "uq_bed_outage_open",
            "bed_id",
            unique=True,
            sqlite_where=sa.text("end_on IS NULL"),
            postgresql_where=sa.text("end_on IS NULL"),
        ),
    )


CONSTRAINT_MESSAGES.update(
    {
        "uq_stay_open_bed": _l("This bed has just been taken by someone else. Please reload."),
        "ex_stay_bed_period": _l("This bed already has a stay on those dates."),
        "uq_stay_open_person": _l("This person has just been given another bed."),
        "ex_stay_person_period": _l("This person already has a stay on those dates."),
        "uq_bed_reservation_open": _l("This bed has just been reserved by someone else."),
        "uq_bed_outage_open": _l("This bed is already out of service."),
    }
)


def _run_out(now):
    """SQL condition on ``Bed``: its open reservation has run out by ``now`` (the scheduled
    job ends it; until then the bed is free to whoever reads it)."""
    return (
        sa.select(Reservation.id)
        .where(
            Reservation.bed_id == Bed.id,
            Reservation.ended_at.is_(None),
            Reservation.expires_at <= now,
        )
        .exists()
    )


def free_bed(now: datetime):
    """SQL condition on ``Bed``: free to admit someone now."""
    # The IN lets an index on (facility, status, ...) skip the occupied beds of a facility
    # before the OR is looked at.
    return sa.and_(
        Bed.status.in_((BedStatus.VACANT.value, BedStatus.RESERVED.value)),
        sa.or_(
            Bed.status == BedStatus.VACANT.value,
            sa.and_(Bed.status == BedStatus.RESERVED.value, _run_out(now)),
        ),
    )


def status_now(now):
    """SQL expression: the bed's status as of ``now``, a run-out reservation read as vacant
    (what ``refresh_status`` will record when the job ends it)."""
    return sa.case(
        (
            sa.and_(Bed.status == BedStatus.RESERVED.value, _run_out(now)),
            BedStatus.VACANT.value,
        ),
        else_=Bed.status,
    )
