"""The account an enrolment is paid into: set, changed, and revealed only on record.

Operations add and flush; the view or the job commits once.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.errors import Conflict
from eldercare.core.permissions import is_local_staff_of
from eldercare.subsidies.models import Enrolment, EnrolmentStatus
from eldercare.subsidies.operations.access import forbidden


def mask_account(number: str) -> str:
    """6222 **** **** 1234: a bank's prefix and the last four digits."""
    digits = "".join(ch for ch in number if not ch.isspace())
    if len(digits) <= 8:
        return "*" * (len(digits) - 2) + digits[-2:]
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def set_account(enrolment: Enrolment, data: dict) -> None:
    number = (data.get("account_number") or "").replace(" ", "")
    if data.get("account_kind"):
        enrolment.account_kind = data["account_kind"]
    if "bank_name" in data:
        enrolment.bank_name = data.get("bank_name") or ""
    if "account_holder" in data:
        enrolment.account_holder = data.get("account_holder") or ""
    if number:
        enrolment.account_number = number
        enrolment.account_masked = mask_account(number)


def change_account(enrolment: Enrolment, data: dict, by) -> Enrolment:
    if not (is_local_staff_of(by, enrolment.region)):
        raise forbidden()
    if enrolment.status in (EnrolmentStatus.STOPPED.value, EnrolmentStatus.REJECTED.value):
        raise Conflict(_l("This enrolment has already ended."))
    before = {
        "account": enrolment.account_masked,
        "bank": enrolment.bank_name,
        "holder": enrolment.account_holder,
        "kind": enrolment.account_kind,
    }
    set_account(enrolment, data)
    after = {
        "account": enrolment.account_masked,
        "bank": enrolment.bank_name,
        "holder": enrolment.account_holder,
        "kind": enrolment.account_kind,
    }
    audit.record(
        "subsidies.account_changed",
        enrolment,
        actor=by,
        changes=audit.changes_between(before, after),
    )
    return enrolment


def reveal_account(enrolment: Enrolment, by) -> str:
    """The full account number, for staff of the enrolment's scope; every reveal audited."""
    if not (is_local_staff_of(by, enrolment.region)):
        raise forbidden()
    audit.record("subsidies.account_revealed", enrolment, actor=by)
    return enrolment.account_number or ""
