"""Subsidy programs with versioned rule tables, enrolments, monthly batches and payments.

Money is integer fen. One live payment per enrolment and period is held by a partial unique
index (a failed, returned, excluded or reversed payment is not live, so it can be re-issued).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eldercare.auth.models import User
from eldercare.core.crypto import EncryptedString
from eldercare.core.db import TimestampMixin, UTCDateTime, one_of
from eldercare.core.permissions import STAFF_ROLES, Role, role_of
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import Person
from eldercare.regions.models import Region


class ProgramKind(StrEnum):
    AGE_ALLOWANCE = "age_allowance"  # 高龄津贴
    CARE_SUBSIDY = "care_subsidy"  # 失能老年人护理补贴
    SERVICE_SUBSIDY = "service_subsidy"  # 经济困难老年人养老服务补贴
    OPERATING_SUBSIDY = "operating_subsidy"  # 养老机构运营补贴
    MEAL_SUBSIDY = "meal_subsidy"  # 助餐补贴
    HAPPINESS_AWARD = "happiness_award"  # 农村幸福院奖补


#: Programs paid to people; the others are paid to facilities.
PERSON_KINDS = frozenset(
    {ProgramKind.AGE_ALLOWANCE, ProgramKind.CARE_SUBSIDY, ProgramKind.SERVICE_SUBSIDY}
)


class Frequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


MONTHS_IN = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}


class Timing(StrEnum):
    ADVANCE = "advance"
    ARREARS = "arrears"


class Basis(StrEnum):
    """What a facility program's rate is multiplied by."""

    PERSON = "person"  # one person, the rate per month (person programs)
    FACILITY = "facility"  # a flat amount per facility per month
    OCCUPIED_BED = "occupied_bed"  # per bed occupied on the reference day, per month
    PERSON_SERVED = "person_served"  # per day-care member on the reference day, per month
    MEAL = "meal"  # per subsidised meal served in the period


class EnrolmentStatus(StrEnum):
    APPLIED = "applied"  # 申请
    REVIEWED = "reviewed"  # 乡镇初审通过
    IN_NOTICE = "in_notice"  # 县级审批通过, 公示中
    ACTIVE = "active"  # 享受中
    SUSPENDED = "suspended"  # 暂停
    STOPPED = "stopped"  # 停发
    REJECTED = "rejected"  # 不予批准


#: An enrolment in one of these blocks a second one of the same person and program.
OPEN_ENROLMENT = (
    EnrolmentStatus.APPLIED,
    EnrolmentStatus.REVIEWED,
    EnrolmentStatus.IN_NOTICE,
    EnrolmentStatus.ACTIVE,
    EnrolmentStatus.SUSPENDED,
)


class StopReason(StrEnum):
    DEATH = "death"
    MOVED_OUT = "moved_out"
    LOST_STATUS = "lost_status"
    DUPLICATE = "duplicate"
    WITHDRAWAL = "withdrawal"
    CANNOT_LOCATE = "cannot_locate"
    EXISTENCE_CHECK = "existence_check"
    POLICY_CHANGE = "policy_change"
    DATA_CORRECTION = "data_correction"


class SuspendReason(StrEnum):
    CANNOT_LOCATE = "cannot_locate"
    OUT_OF_CONTACT = "out_of_contact"
    EXISTENCE_CHECK = "existence_check"
    UNDER_REVIEW = "under_review"


class BackPayReason(StrEnum):
    """The listed reasons for paying periods before the application (or a suspension)."""

    LATE_REGISTRATION = "late_registration"
    COULD_NOT_LOCATE = "could_not_locate"
    OUT_OF_CONTACT = "out_of_contact"


class AccountKind(StrEnum):
    BANK = "bank"
    SOCIAL_SECURITY_CARD = "social_security_card"


class BatchStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    EXPORTED = "exported"
    RECONCILED = "reconciled"


class PaymentKind(StrEnum):
    REGULAR = "regular"
    BACK_PAY = "back_pay"  # 补发: an earlier period owed
    REISSUE = "reissue"  # a failed or returned payment sent again
    REVERSAL = "reversal"  # a correction: minus the reversed payment, never an edit


class PaymentStatus(StrEnum):
    PENDING = "pending"  # in a draft batch, eligible
    HELD = "held"  # in a draft batch, an exception blocks it until overridden
    EXCLUDED = "excluded"  # found ineligible on a re-check; not paid
    APPROVED = "approved"
    EXPORTED = "exported"  # sent to the bank
    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"
    REVERSED = "reversed"  # paid, then reversed by a reversal entry
    RECORDED = "recorded"  # a reversal entry


#: Payments that count as "this period is paid or being paid" (one per enrolment and period).
LIVE_PAYMENT = ("pending", "held", "approved", "exported", "paid")
#: Payments of a draft batch: a rule table only these refer to may still change.
UNDECIDED_PAYMENT = (
    PaymentStatus.PENDING.value,
    PaymentStatus.HELD.value,
    PaymentStatus.EXCLUDED.value,
)


class ExceptionCode(StrEnum):
    DECEASED = "deceased"
    MOVED_OUT = "moved_out"
    NOT_ACTIVE = "not_active"
    AMOUNT_CHANGED = "amount_changed"
    DUPLICATE = "duplicate"
    EXCLUDED_PROGRAM = "excluded_program"
    ID_MISMATCH = "id_mismatch"
    NO_ACCOUNT = "no_account"
    MANUAL = "manual"  # left out of a draft by staff, with the reason in the payment's note


#: Exceptions that exclude a payment outright; the others hold it until overridden.
HARD_EXCEPTIONS = frozenset(
    {
        ExceptionCode.DECEASED,
        ExceptionCode.MOVED_OUT,
        ExceptionCode.NOT_ACTIVE,
        ExceptionCode.AMOUNT_CHANGED,
    }
)


class Resolution(StrEnum):
    REISSUE = "reissue"
    STOP = "stop"


KIND_LABELS = {
    ProgramKind.AGE_ALLOWANCE: _l("Advanced-age allowance"),
    ProgramKind.CARE_SUBSIDY: _l("Care subsidy for disabled elderly"),
    ProgramKind.SERVICE_SUBSIDY: _l("Elderly-care service subsidy"),
    ProgramKind.OPERATING_SUBSIDY: _l("Facility operating subsidy"),
    ProgramKind.MEAL_SUBSIDY: _l("Meal subsidy"),
    ProgramKind.HAPPINESS_AWARD: _l("Happiness home award"),
}
FREQUENCY_LABELS = {
    Frequency.MONTHLY: _l("Monthly"),
    Frequency.QUARTERLY: _l("Quarterly"),
    Frequency.YEARLY: _l("Yearly"),
}
TIMING_LABELS = {Timing.ADVANCE: _l("In advance"), Timing.ARREARS: _l("In arrears")}
BASIS_LABELS = {
    Basis.PERSON: _l("Per person per month"),
    Basis.FACILITY: _l("Per facility per month"),
    Basis.OCCUPIED_BED: _l("Per occupied bed per month"),
    Basis.PERSON_SERVED: _l("Per person served per month"),
    Basis.MEAL: _l("Per subsidised meal"),
}
ENROLMENT_LABELS = {
    EnrolmentStatus.APPLIED: _l("Applied"),
    EnrolmentStatus.REVIEWED: _l("Township reviewed"),
    EnrolmentStatus.IN_NOTICE: _l("Approved, in public notice"),
    EnrolmentStatus.ACTIVE: _l("Active"),
    EnrolmentStatus.SUSPENDED: _l("Suspended"),
    EnrolmentStatus.STOPPED: _l("Stopped"),
    EnrolmentStatus.REJECTED: _l("Rejected"),
}
STOP_LABELS = {
    StopReason.DEATH: _l("Death"),
    StopReason.MOVED_OUT: _l("Household registration moved out"),
    StopReason.LOST_STATUS: _l("Lost dibao / tekun status"),
    StopReason.DUPLICATE: _l("Duplicate payment"),
    StopReason.WITHDRAWAL: _l("Voluntary withdrawal"),
    StopReason.CANNOT_LOCATE: _l("Cannot be located"),
    StopReason.EXISTENCE_CHECK: _l("Failed the existence check"),
    StopReason.POLICY_CHANGE: _l("Policy change"),
    StopReason.DATA_CORRECTION: _l("Data correction"),
}
SUSPEND_LABELS = {
    SuspendReason.CANNOT_LOCATE: _l("Cannot be located"),
    SuspendReason.OUT_OF_CONTACT: _l("Briefly out of contact"),
    SuspendReason.EXISTENCE_CHECK: _l("Existence check outstanding"),
    SuspendReason.UNDER_REVIEW: _l("Eligibility under review"),
}
BACK_PAY_LABELS = {
    BackPayReason.LATE_REGISTRATION: _l("Late registration"),
    BackPayReason.COULD_NOT_LOCATE: _l("Could not be located"),
    BackPayReason.OUT_OF_CONTACT: _l("Briefly out of contact"),
}
ACCOUNT_LABELS = {
    AccountKind.BANK: _l("Bank account"),
    AccountKind.SOCIAL_SECURITY_CARD: _l("Social security card"),
}
BATCH_LABELS = {
    BatchStatus.DRAFT: _l("Draft"),
    BatchStatus.APPROVED: _l("Approved"),
    BatchStatus.EXPORTED: _l("Sent to the bank"),
    BatchStatus.RECONCILED: _l("Reconciled"),
}
PAYMENT_KIND_LABELS = {
    PaymentKind.REGULAR: _l("Regular"),
    PaymentKind.BACK_PAY: _l("Back pay"),
    PaymentKind.REISSUE: _l("Re-issued"),
    PaymentKind.REVERSAL: _l("Reversal"),
}
PAYMENT_LABELS = {
    PaymentStatus.PENDING: _l("Pending"),
    PaymentStatus.HELD: _l("Held"),
    PaymentStatus.EXCLUDED: _l("Excluded"),
    PaymentStatus.APPROVED: _l("Approved"),
    PaymentStatus.EXPORTED: _l("Sent to the bank"),
    PaymentStatus.PAID: _l("Paid"),
    PaymentStatus.FAILED: _l("Failed"),
    PaymentStatus.RETURNED: _l("Returned"),
    PaymentStatus.REVERSED: _l("Reversed"),
    PaymentStatus.RECORDED: _l("Recorded"),
}
EXCEPTION_LABELS = {
    ExceptionCode.DECEASED: _l("Died before the period"),
    ExceptionCode.MOVED_OUT: _l("No longer lives in the county"),
    ExceptionCode.NOT_ACTIVE: _l("Enrolment no longer active"),
    ExceptionCode.AMOUNT_CHANGED: _l("Amount changed since generation"),
    ExceptionCode.DUPLICATE: _l("Also enrolled in a program of the same kind"),
    ExceptionCode.EXCLUDED_PROGRAM: _l("Also enrolled in a program that excludes this one"),
    ExceptionCode.ID_MISMATCH: _l("Birth date contradicts the ID number"),
    ExceptionCode.NO_ACCOUNT: _l("No account to pay into"),
    ExceptionCode.MANUAL: _l("Excluded by staff"),
}
RESOLUTION_LABELS = {Resolution.REISSUE: _l("Re-issue"), Resolution.STOP: _l("Do not re-issue")}


def _county_scope(column, user):
    """Admins see everything; county staff their county; township staff their township."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role in STAFF_ROLES and user.region is not None:
        return column.in_(Region.subtree_ids(user.region))
    return None


def _county_staff_only(column, user):
    """Batches and payments: admins, and county staff of their county (not townships)."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role == Role.COUNTY_STAFF and user.region is not None:
        return column.in_(Region.subtree_ids(user.region))
    return None


def _county_of_region(column, user):
    """Rows bound to a county: staff of that county, township staff included."""
    role = role_of(user)
    if role == Role.ADMIN:
        return sa.true()
    if role in STAFF_ROLES and user.region is not None:
        return column.in_(sa.select(Region.id).where(Region.code.startswith(user.region.code[:6])))
    return None


class Program(TimestampMixin, db.Model):
    """A county's subsidy program: who it pays, how often, and by which rule tables."""

    __tablename__ = "subsidy_program"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(20))
    basis: Mapped[str] = mapped_column(sa.String(16), default=Basis.PERSON.value)
    frequency: Mapped[str] = mapped_column(sa.String(10), default=Frequency.MONTHLY.value)
    timing: Mapped[str] = mapped_column(sa.String(8), default=Timing.ADVANCE.value)
    #: Day of the month by which a period's payments are due at the bank.
    pay_day: Mapped[int] = mapped_column(default=10)
    notice_days: Mapped[int] = mapped_column(default=7)
    review_months: Mapped[int] = mapped_column(default=12)
    #: Columns of the bank file, in order (keys of subsidies.bankfile.COLUMNS).
    bank_columns: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    region: Mapped[Region] = relationship()
    tables: Mapped[list[RuleTable]] = relationship(
        back_populates="program", order_by=lambda: RuleTable.effective_from.desc()
    )

    __table_args__ = (
        sa.UniqueConstraint("region_id", "code"),
        one_of("kind", ProgramKind, "kind_known"),
        one_of("basis", Basis, "basis_known"),
        one_of("frequency", Frequency, "frequency_known"),
        one_of("timing", Timing, "timing_known"),
        sa.CheckConstraint("pay_day BETWEEN 1 AND 28", name="pay_day_in_range"),
        sa.CheckConstraint("notice_days BETWEEN 1 AND 60", name="notice_days_in_range"),
        sa.CheckConstraint("review_months BETWEEN 1 AND 36", name="review_months_in_range"),
        # A person program pays per person; a facility program never does.
        sa.CheckConstraint(
            "(kind IN ('age_allowance', 'care_subsidy', 'service_subsidy')) = (basis = 'person')",
            name="basis_matches_kind",
        ),
        sa.CheckConstraint("basis <> 'meal' OR timing = 'arrears'", name="meals_in_arrears"),
    )

    @classmethod
    def __scope__(cls, user):
        return _county_of_region(cls.region_id, user)

    @property
    def pays_people(self) -> bool:
        return ProgramKind(self.kind) in PERSON_KINDS

    @property
    def months(self) -> int:
        return MONTHS_IN[Frequency(self.frequency)]

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[ProgramKind(self.kind)])

    @property
    def frequency_label(self) -> str:
        return str(FREQUENCY_LABELS[Frequency(self.frequency)])

    @property
    def timing_label(self) -> str:
        return str(TIMING_LABELS[Timing(self.timing)])

    @property
    def basis_label(self) -> str:
        return str(BASIS_LABELS[Basis(self.basis)])

    def table_for(self, period: date) -> RuleTable | None:
        """The rule table in force for a period: the latest that took effect by its start."""
        for table in self.tables:  # newest first
            if table.effective_from <= period:
                return table
        return None


program_exclusion = sa.Table(
    "subsidy_program_exclusion",
    db.metadata,
    sa.Column("program_id", sa.ForeignKey("subsidy_program.id"), primary_key=True),
    sa.Column("other_id", sa.ForeignKey("subsidy_program.id"), primary_key=True),
    sa.CheckConstraint("program_id <> other_id", name="not_itself"),
)


class RuleTable(TimestampMixin, db.Model):
    """One version of a program's amounts, in force from a month on. Frozen once a batch
    has been approved with it; a change of policy is a new version."""

    __tablename__ = "subsidy_rule_table"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_program.id"), index=True)
    version: Mapped[int]
    effective_from: Mapped[date]
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    program: Mapped[Program] = relationship(back_populates="tables")
    rules: Mapped[list[Rule]] = relationship(
        back_populates="table",
        order_by=lambda: Rule.position,
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        sa.UniqueConstraint("program_id", "version"),
        sa.UniqueConstraint("program_id", "effective_from"),
    )

    @property
    def is_frozen(self) -> bool:
        return (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Payment)
                .join(Rule, Rule.id == Payment.rule_id)
                .where(Rule.table_id == self.id, Payment.status.not_in(UNDECIDED_PAYMENT))
            )
            > 0
        )


class Rule(db.Model):
    """A row of a rule table: who it applies to and the amount per month (or per unit).

    Empty conditions match anyone. The rows of one table never overlap (checked when saved),
    so a person matches at most one rule and generation needs no precedence.
    """

    __tablename__ = "subsidy_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_rule_table.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(sa.String(80), default="")
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    economic_statuses: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    ability_levels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    star_levels: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    amount_fen: Mapped[int]

    table: Mapped[RuleTable] = relationship(back_populates="rules")

    __table_args__ = (
        sa.CheckConstraint("amount_fen BETWEEN 0 AND 100000000", name="amount_in_range"),
        sa.CheckConstraint(
            "min_age IS NULL OR max_age IS NULL OR min_age <= max_age", name="age_range"
        ),
    )


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
        return _county_scope(cls.region_id, user)

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
        return _county_staff_only(cls.region_id, user)

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
        return _county_staff_only(cls.region_id, user)

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
