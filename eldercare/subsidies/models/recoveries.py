"""Payments to recover (追回): made for a period after the beneficiary died or moved out of
the county. The payment itself is never edited: a reversal entry (minus its amount) stands
against it, and this row follows the money back, to recover until someone records it
recovered (who, when, a note)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.db import UTCDateTime, one_of, utcnow
from eldercare.core.masking import mask_name
from eldercare.extensions import db
from eldercare.people.models import Person
from eldercare.subsidies.models.batches import Payment
from eldercare.subsidies.models.enums import (
    RECOVERY_LABELS,
    STOP_LABELS,
    RecoveryStatus,
    StopReason,
)
from eldercare.subsidies.models.scopes import county_staff_only


class Recovery(db.Model):
    """One payment made after the person left, its reversal entry, and where recovering
    it stands."""

    __tablename__ = "subsidy_recovery"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The payment made for a period after the death (approved, sent or paid): untouched.
    payment_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_payment.id"), unique=True)
    #: Its reversal entry (kind reversal, minus the amount).
    reversal_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_payment.id"), unique=True)
    #: Where the beneficiary lived (the payment's area): county staff of it see the row.
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    #: Why: death or moved_out (a StopReason), and the day it happened.
    reason: Mapped[str] = mapped_column(sa.String(20))
    left_on: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(12), default=RecoveryStatus.TO_RECOVER.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recovered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(sa.String(255), default="")

    payment: Mapped[Payment] = relationship(foreign_keys=[payment_id])
    reversal: Mapped[Payment] = relationship(foreign_keys=[reversal_id])
    person: Mapped[Person] = relationship()
    recovered_by: Mapped[User | None] = relationship()

    __table_args__ = (
        one_of("status", RecoveryStatus, "status_known"),
        sa.CheckConstraint("reason IN ('death', 'moved_out')", name="reason_known"),
        sa.CheckConstraint(
            "(status = 'recovered') = (recovered_at IS NOT NULL)", name="recovered_when"
        ),
        sa.Index("ix_subsidy_recovery_region_status", "region_id", "status"),
    )

    @classmethod
    def __scope__(cls, user):
        return county_staff_only(cls.region_id, user)

    @property
    def status_label(self) -> str:
        return str(RECOVERY_LABELS[RecoveryStatus(self.status)])

    @property
    def reason_label(self) -> str:
        return str(STOP_LABELS[StopReason(self.reason)])

    @property
    def is_open(self) -> bool:
        return self.status == RecoveryStatus.TO_RECOVER.value

    @property
    def person_masked(self) -> str:
        """The beneficiary as a list shows them: name masked, ID number masked."""
        return mask_name(self.person.name)

    @property
    def amount_fen(self) -> int:
        """What is to come back: the payment's amount (its reversal entry is minus it)."""
        return -self.reversal.amount_fen
