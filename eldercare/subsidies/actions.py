"""Which actions the subsidy pages offer a user, as sets of action names the templates ask
(``{% if "void" in actions %}``): computed from the same roles, states and policies the
operations check, so a page never offers what the operation would refuse, and no template
compares a role or a status itself."""

from __future__ import annotations

from eldercare.core.permissions import Role, is_county_staff_of, is_local_staff_of, role_of
from eldercare.subsidies.models import (
    Batch,
    BatchStatus,
    Enrolment,
    EnrolmentStatus,
    Payment,
    PaymentStatus,
    Recovery,
)

#: Who keeps the programs' money: batches, bank files and reports.
KEEPERS = (Role.ADMIN, Role.COUNTY_STAFF)
#: Enrolment states that are paid (or paused): reviewed yearly, stopped by county staff.
PAID = (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED)
#: Enrolment states that are over: nothing is paid nor changed any more.
ENDED = (EnrolmentStatus.STOPPED, EnrolmentStatus.REJECTED)


def keeps_money(user) -> bool:
    """County staff and administrators: the batches, bank files and reports are theirs."""
    return role_of(user) in KEEPERS


def section_actions(user, reports_registered: bool) -> set[str]:
    """The tabs of the subsidy pages beyond those every staff member has."""
    if not keeps_money(user):
        return set()
    found = {"batches", "recoveries"}
    return found | {"reports"} if reports_registered else found


def recovery_actions(user, recovery: Recovery) -> set[str]:
    """A payment still to recover is recorded as recovered by county staff of its county
    (as ``operations.mark_recovered`` requires)."""
    if recovery.is_open and is_county_staff_of(user, recovery.payment.program.region):
        return {"recovered"}
    return set()


def enrolment_actions(user, enrolment: Enrolment) -> set[str]:
    """What ``user`` may do to ``enrolment`` now: township (or county) staff of where the
    person lives review, record the yearly review and change the account; county staff of
    the program's county decide, refuse, suspend, resume and stop."""
    state = EnrolmentStatus(enrolment.status)
    local = is_local_staff_of(user, enrolment.region)
    county = is_county_staff_of(user, enrolment.program.region)
    may = {
        "review": local and state == EnrolmentStatus.APPLIED,
        "decide": county and state == EnrolmentStatus.REVIEWED,
        "refuse": county and state == EnrolmentStatus.IN_NOTICE,
        "suspend": county and state == EnrolmentStatus.ACTIVE,
        "resume": county and state == EnrolmentStatus.SUSPENDED,
        "stop": county and state in PAID,
        "yearly": local and state in PAID,
        "account": local and state not in ENDED,
        "reveal": local and bool(enrolment.account_masked),
    }
    return {name for name, allowed in may.items() if allowed}


def enrolment_facts(enrolment: Enrolment) -> set[str]:
    """What the enrolment page shows of the enrolment's state: the next yearly review while
    it is paid, the suspension or the stop when there is one, a missing rule unless over."""
    state = EnrolmentStatus(enrolment.status)
    facts = set()
    if state in PAID:
        facts.add("next_review")
    if state == EnrolmentStatus.SUSPENDED:
        facts.add("suspension")
    if state == EnrolmentStatus.STOPPED:
        facts.add("stop")
    if state not in ENDED:
        facts.add("payable")
    return facts


def batch_actions(batch: Batch, bank_files: bool) -> set[str]:
    """What may be done with ``batch`` (the pages are county staff's): a draft is approved,
    checked again, voided and its payments released or excluded; an approved batch has its
    bank file (sent again once exported, a copy once reconciled) and the bank's return
    (``bank_files``: whether the bank-file pages are registered)."""
    status = BatchStatus(batch.status)
    if status == BatchStatus.DRAFT:
        return {"approve", "regenerate", "void", "release", "exclude"}
    if not bank_files:
        return set()
    found = {"bank_files"}
    if status == BatchStatus.EXPORTED:
        found.add("export_again")
    if status == BatchStatus.RECONCILED:
        found.add("export_copy")
    return found


def payment_actions(batch: Batch, payment: Payment) -> set[str]:
    """What may be done with one payment of ``batch``: in a draft, a held payment is
    released and a pending or held one excluded (as ``operations.override`` and
    ``exclude_payment`` require)."""
    if batch.is_frozen:
        return set()
    status = PaymentStatus(payment.status)
    found = set()
    if status == PaymentStatus.HELD:
        found.add("release")
    if status in (PaymentStatus.PENDING, PaymentStatus.HELD):
        found.add("exclude")
    return found


def return_actions(batch: Batch) -> set[str]:
    """The bank-return page: a bank file to send while approved or exported, the return to
    import once exported (or again once reconciled)."""
    status = BatchStatus(batch.status)
    found = set()
    if status in (BatchStatus.APPROVED, BatchStatus.EXPORTED):
        found.add("export")
    if status in (BatchStatus.EXPORTED, BatchStatus.RECONCILED):
        found.add("import_return")
    return found


def reversal_actions(payment: Payment | None) -> set[str]:
    """A payment found on the bank-return page is reversed only once paid."""
    if payment is not None and payment.status == PaymentStatus.PAID.value:
        return {"reverse"}
    return set()
