"""The codes subsidy rows store and the labels pages show for them."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


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
    #: A new ability assessment that no rule of the program's table pays any more.
    ABILITY_CHANGED = "ability_changed"


class RecoveryStatus(StrEnum):
    """A payment made for a period after a death or a move out of the county (追回)."""

    TO_RECOVER = "to_recover"
    RECOVERED = "recovered"


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
    StopReason.ABILITY_CHANGED: _l("Ability level no longer covered"),
}


RECOVERY_LABELS = {
    RecoveryStatus.TO_RECOVER: _l("To recover"),
    RecoveryStatus.RECOVERED: _l("Recovered"),
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
