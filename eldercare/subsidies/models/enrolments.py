"""A person (or facility) enrolled in a program, from application to stop."""

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
from eldercare.subsidies.models.enums import (
    ACCOUNT_LABELS,
    BACK_PAY_LABELS,
    ENROLMENT_LABELS,
    STOP_LABELS,
    SUSPEND_LABELS,
    AccountKind,
    BackPayReason,
    EnrolmentStatus,
    StopReason,
    SuspendReason,
)
from eldercare.subsidies.models.programs import Program
from eldercare.subsidies.models.scopes import county_scope


class Enrolment(TimestampMixin, db.Model):
    """A person (or facility) in a program, from application to stop."""

    __tablename__ = "subsidy_enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_program.id"), index=True)
    #: Where the beneficiary lives (a township or village): township staff see their own.
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    facility_id: Mapped[int | None] = mapped_column(sa.ForeignKey("facility.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=EnrolmentStatus.APPLIED.value)
    applied_on: Mapped[date]
    #: First period payable. Before the month of application only with a back-pay reason.
    start_month: Mapped[date]
    back_pay_reason: Mapped[str | None] = mapped_column(sa.String(20))
    #: Earliest period that may still be owed (set on activation and on resumption with back
    #: pay); generation adds back pay for missing periods from here, then clears it.
    arrears_from: Mapped[date | None] = mapped_column(index=True)
    #: The birth date the person's ID number carried when it was last verified: a register
    #: whose birth date differs from it (an age that contradicts the ID) is checked again.
    id_birth_date: Mapped[date | None]
    account_kind: Mapped[str] = mapped_column(sa.String(24), default=AccountKind.BANK.value)
    bank_name: Mapped[str] = mapped_column(sa.String(60), default="")
    account_holder: Mapped[str] = mapped_column(sa.String(50), default="")
    account_number: Mapped[str | None] = mapped_column(EncryptedString())
    account_masked: Mapped[str] = mapped_column(sa.String(32), default="")
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_until: Mapped[date | None]
    activated_on: Mapped[date | None]
    next_review_on: Mapped[date | None] = mapped_column(index=True)
    suspended_from: Mapped[date | None]
    #: The last suspension resumed without back pay: its periods are never paid.
    waived_from: Mapped[date | None]
    waived_until: Mapped[date | None]  # first period paid again
    suspend_reason: Mapped[str | None] = mapped_column(sa.String(20))
    stop_month: Mapped[date | None]  # first period no longer paid
    stop_reason: Mapped[str | None] = mapped_column(sa.String(20))
    decision_note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    program: Mapped[Program] = relationship()
    region: Mapped[Region] = relationship()
    person: Mapped[Person | None] = relationship()
    facility: Mapped[Facility | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    __table_args__ = (
        one_of("status", EnrolmentStatus, "status_known"),
        one_of("account_kind", AccountKind, "account_kind_known"),
        sa.CheckConstraint(
            "(person_id IS NULL) <> (facility_id IS NULL)", name="person_or_facility"
        ),
        sa.CheckConstraint(
            "back_pay_reason IS NULL OR back_pay_reason IN"
            " ('late_registration', 'could_not_locate', 'out_of_contact')",
            name="back_pay_reason_known",
        ),
        sa.CheckConstraint("status <> 'stopped' OR stop_reason IS NOT NULL", name="stop_why"),
        # One open enrolment per person (or facility) and program, ever at a time.
        sa.Index(
            "uq_subsidy_enrolment_open_person",
            "program_id",
            "person_id",
            unique=True,
            sqlite_where=sa.text("status NOT IN ('stopped', 'rejected') AND person_id IS NOT NULL"),
            postgresql_where=sa.text(
                "status NOT IN ('stopped', 'rejected') AND person_id IS NOT NULL"
            ),
        ),
        sa.Index(
            "uq_subsidy_enrolment_open_facility",
            "program_id",
            "facility_id",
            unique=True,
            sqlite_where=sa.text(
                "status NOT IN ('stopped', 'rejected') AND facility_id IS NOT NULL"
            ),
            postgresql_where=sa.text(
                "status NOT IN ('stopped', 'rejected') AND facility_id IS NOT NULL"
            ),
        ),
        sa.Index("ix_subsidy_enrolment_program_status", "program_id", "status"),
    )

    @classmethod
    def __scope__(cls, user):
        return county_scope(cls.region_id, user)

    @classmethod
    def payable_in(cls, period, table=None):
        """SQL: the enrolment pays for ``period`` (a date or a date column): active,
        suspended or stopped only from a later period, from its first period on, and not in
        a suspension resumed without back pay."""
        t = table if table is not None else cls.__table__.c
        return sa.and_(
            t.status.in_(
                [
                    EnrolmentStatus.ACTIVE.value,
                    EnrolmentStatus.SUSPENDED.value,
                    EnrolmentStatus.STOPPED.value,
                ]
            ),
            t.start_month <= period,
            sa.or_(t.stop_month.is_(None), t.stop_month > period),
            sa.or_(t.status != EnrolmentStatus.SUSPENDED.value, t.suspended_from > period),
            sa.or_(t.waived_from.is_(None), t.waived_from > period, t.waived_until <= period),
            # A stopped enrolment always has its stop month; anything else is not payable.
            sa.or_(t.status != EnrolmentStatus.STOPPED.value, t.stop_month.is_not(None)),
        )

    @property
    def beneficiary_name(self) -> str:
        if self.person is not None:
            return self.person.name
        return self.facility.name if self.facility is not None else ""

    @property
    def status_label(self) -> str:
        return str(ENROLMENT_LABELS[EnrolmentStatus(self.status)])

    @property
    def stop_label(self) -> str:
        return str(STOP_LABELS[StopReason(self.stop_reason)]) if self.stop_reason else ""

    @property
    def suspend_label(self) -> str:
        return (
            str(SUSPEND_LABELS[SuspendReason(self.suspend_reason)]) if self.suspend_reason else ""
        )

    @property
    def back_pay_label(self) -> str:
        if not self.back_pay_reason:
            return ""
        return str(BACK_PAY_LABELS[BackPayReason(self.back_pay_reason)])

    @property
    def account_kind_label(self) -> str:
        return str(ACCOUNT_LABELS[AccountKind(self.account_kind)])
