"""The existence check's tables: a program's setting (how often, how long a grace, whether
back pay follows a late check) and the checks recorded for an enrolment.

Kept apart from the program and the enrolment (their tables are not touched): a program
without a setting, or with it switched off, asks for no check.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.db import TimestampMixin, one_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.subsidies.models import BACK_PAY_LABELS, BackPayReason, Enrolment, Program
from eldercare.subsidies.models.scopes import county_of_region, county_scope

#: Bounds of a setting (the form and the database both hold them).
MIN_INTERVAL, MAX_INTERVAL = 1, 24
MIN_GRACE, MAX_GRACE = 0, 180
#: A check coming due is announced this many days ahead; the list shows the same window.
NOTICE_DAYS = 30


class Method(StrEnum):
    IN_PERSON = "in_person"  # 上门 / 当面
    VIDEO = "video"  # 视频
    FACILITY = "facility"  # 机构证明: the facility the person lives in


METHOD_LABELS = {
    Method.IN_PERSON: _l("In person (home visit or at the office)"),
    Method.VIDEO: _l("Video call"),
    Method.FACILITY: _l("Certified by the facility the person lives in"),
}

#: The back-pay reasons a late check may carry (the listed reasons that fit a person who
#: was not seen in time); no reason means no back pay.
LATE_CHECK_REASONS = (BackPayReason.OUT_OF_CONTACT, BackPayReason.COULD_NOT_LOCATE)


class ExistencePolicy(TimestampMixin, db.Model):
    """A program's existence check (生存认证): every ``interval_months`` from activation or
    the last check; suspended ``grace_days`` after the due date; back pay on a late check
    with ``back_pay_reason`` (none: the suspended periods are not paid)."""

    __tablename__ = "subsidy_existence_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_program.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    interval_months: Mapped[int] = mapped_column(default=12)
    grace_days: Mapped[int] = mapped_column(default=60)
    back_pay_reason: Mapped[str | None] = mapped_column(sa.String(20))
    #: Checks are counted from this day at the earliest (the day the check was switched on):
    #: enrolments older than the setting are not all overdue at once.
    counted_from: Mapped[date]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    program: Mapped[Program] = relationship()
    updated_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            f"interval_months BETWEEN {MIN_INTERVAL} AND {MAX_INTERVAL}", name="interval_in_range"
        ),
        sa.CheckConstraint(
            f"grace_days BETWEEN {MIN_GRACE} AND {MAX_GRACE}", name="grace_in_range"
        ),
        sa.CheckConstraint(
            "back_pay_reason IS NULL OR back_pay_reason IN ('out_of_contact', 'could_not_locate')",
            name="back_pay_reason_known",
        ),
    )

    @classmethod
    def __scope__(cls, user):
        clause = county_of_region(Program.region_id, user)
        if clause is None:
            return None
        return cls.program_id.in_(sa.select(Program.id).where(clause))

    @property
    def back_pay_label(self) -> str:
        if not self.back_pay_reason:
            return ""
        return str(BACK_PAY_LABELS[BackPayReason(self.back_pay_reason)])


class ExistenceCheck(TimestampMixin, db.Model):
    """One check that the person is alive: when, how, who saw them, who recorded it."""

    __tablename__ = "subsidy_existence_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_enrolment.id"))
    #: Where the person lives (the enrolment's region): township staff see their own.
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    checked_on: Mapped[date]
    method: Mapped[str] = mapped_column(sa.String(12))
    #: Who saw the person (the staff member, or who signed for the facility).
    witness: Mapped[str] = mapped_column(sa.String(50))
    #: The facility that certified its resident (method facility).
    facility_id: Mapped[int | None] = mapped_column(sa.ForeignKey("facility.id"))
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    #: The check resumed an enrolment suspended for want of it.
    resumed: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    enrolment: Mapped[Enrolment] = relationship()
    facility: Mapped[Facility | None] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    __table_args__ = (
        one_of("method", Method, "method_known"),
        sa.CheckConstraint(
            "method <> 'facility' OR facility_id IS NOT NULL", name="facility_certifies"
        ),
        sa.Index("ix_subsidy_existence_check_enrolment", "enrolment_id", "checked_on"),
    )

    @classmethod
    def __scope__(cls, user):
        return county_scope(cls.region_id, user)

    @property
    def method_label(self) -> str:
        return str(METHOD_LABELS[Method(self.method)])
