"""A program's batch for a period and its payments.

Money is integer fen. One live payment per enrolment and period is held by a partial unique
index (a failed, returned, excluded or reversed payment is not live, so it can be re-issued).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.crypto import EncryptedString
from eldercare.core.db import TimestampMixin, UTCDateTime, one_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Region
from eldercare.subsidies.models.enrolments import Enrolment
from eldercare.subsidies.models.enums import (
    BATCH_LABELS,
    EXCEPTION_LABELS,
    PAYMENT_KIND_LABELS,
    PAYMENT_LABELS,
    BatchStatus,
    ExceptionCode,
    PaymentKind,
    PaymentStatus,
)
from eldercare.subsidies.models.programs import Program, Rule
from eldercare.subsidies.models.scopes import county_staff_only


class Batch(TimestampMixin, db.Model):
    """The payments of one program for one period, made by one person and approved by
    another; frozen once approved."""

    __tablename__ = "subsidy_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_program.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    period: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(10), default=BatchStatus.DRAFT.value)
    due_on: Mapped[date]
    made_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: Whoever last added payments to it (by generating again): not its approver either.
    generated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Control totals frozen at approval: what the bank file must add up to.
    payment_count: Mapped[int] = mapped_column(default=0)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    program: Mapped[Program] = relationship()
    region: Mapped[Region] = relationship()
    made_by: Mapped[User | None] = relationship(foreign_keys=[made_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    __table_args__ = (
        sa.UniqueConstraint("program_id", "period"),
        one_of("status", BatchStatus, "status_known"),
        sa.CheckConstraint(
            "status = 'draft' OR (approved_by_id IS NOT NULL AND approved_by_id <> made_by_id)",
            name="four_eyes",
        ),
    )

    @classmethod
    def __scope__(cls, user):
        return county_staff_only(cls.region_id, user)

    @property
    def status_label(self) -> str:
        return str(BATCH_LABELS[BatchStatus(self.status)])

    @property
    def is_frozen(self) -> bool:
        return self.status != BatchStatus.DRAFT.value


class Payment(db.Model):
    """One amount for one enrolment and period. Never edited once approved: a correction is
    a reversal entry (negative amount) pointing at the payment it reverses."""

    __tablename__ = "subsidy_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subsidy_batch.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_enrolment.id"), index=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_program.id"))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    facility_id: Mapped[int | None] = mapped_column(sa.ForeignKey("facility.id"))
    period: Mapped[date]
    kind: Mapped[str] = mapped_column(sa.String(10), default=PaymentKind.REGULAR.value)
    status: Mapped[str] = mapped_column(sa.String(10), default=PaymentStatus.PENDING.value)
    rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subsidy_rule.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    exception: Mapped[str | None] = mapped_column(sa.String(20))
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    override_reason: Mapped[str] = mapped_column(sa.String(255), default="")
    # The account paid into, frozen when the batch is approved.
    account_holder: Mapped[str] = mapped_column(sa.String(50), default="")
    bank_name: Mapped[str] = mapped_column(sa.String(60), default="")
    account_number: Mapped[str | None] = mapped_column(EncryptedString())
    account_masked: Mapped[str] = mapped_column(sa.String(32), default="")
    bank_note: Mapped[str] = mapped_column(sa.String(255), default="")
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(sa.String(10))
    reissue_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subsidy_payment.id"))
    reverses_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subsidy_payment.id"), unique=True
    )
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    batch: Mapped[Batch | None] = relationship()
    enrolment: Mapped[Enrolment] = relationship()
    program: Mapped[Program] = relationship()
    person: Mapped[Person | None] = relationship()
    facility: Mapped[Facility | None] = relationship()
    rule: Mapped[Rule | None] = relationship()

    __table_args__ = (
        one_of("kind", PaymentKind, "kind_known"),
        one_of("status", PaymentStatus, "status_known"),
        sa.CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_points_back"
        ),
        sa.CheckConstraint(
            "(kind = 'reversal' AND amount_fen < 0) OR (kind <> 'reversal' AND amount_fen >= 0)",
            name="amount_sign",
        ),
        # The rule of the house: one payment per enrolment and period, ever (while live).
        sa.Index(
            "uq_subsidy_payment_live",
            "enrolment_id",
            "period",
            unique=True,
            sqlite_where=sa.text(
                "status IN ('pending', 'held', 'approved', 'exported', 'paid')"
                " AND kind <> 'reversal'"
            ),
            postgresql_where=sa.text(
                "status IN ('pending', 'held', 'approved', 'exported', 'paid')"
                " AND kind <> 'reversal'"
            ),
        ),
        sa.Index("ix_subsidy_payment_batch_status", "batch_id", "status"),
        # Re-issues are looked up by the payment they re-issue (and the foreign key checked
        # when a payment is deleted): a partial index, as few payments are re-issues.
        sa.Index(
            "ix_subsidy_payment_reissue_of_id",
            "reissue_of_id",
            sqlite_where=sa.text("reissue_of_id IS NOT NULL"),
            postgresql_where=sa.text("reissue_of_id IS NOT NULL"),
        ),
        sa.Index("ix_subsidy_payment_program_period", "program_id", "period"),
    )

    @classmethod
    def __scope__(cls, user):
        return county_staff_only(cls.region_id, user)

    @property
    def status_label(self) -> str:
        return str(PAYMENT_LABELS[PaymentStatus(self.status)])

    @property
    def kind_label(self) -> str:
        return str(PAYMENT_KIND_LABELS[PaymentKind(self.kind)])

    @property
    def exception_label(self) -> str:
        return str(EXCEPTION_LABELS[ExceptionCode(self.exception)]) if self.exception else ""

    @property
    def beneficiary_name(self) -> str:
        if self.person is not None:
            return self.person.name
        return self.facility.name if self.facility is not None else ""
