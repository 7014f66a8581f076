"""Subsidy pages: programs and their rule tables, applications and the enrolment lifecycle,
the public notice, the monthly candidates, and batches drawn up by one person and approved
by another. One blueprint, its pages in a module each by lifecycle (programs, enrolments,
batches). Views load (404 out of scope), validate, call one operation and commit once."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, url_for
from flask_login import current_user

from eldercare.core.permissions import Role
from eldercare.people.models import ABILITY_LABELS, ECONOMIC_LABELS
from eldercare.subsidies import actions, queries
from eldercare.subsidies.models import (
    ACCOUNT_LABELS,
    BACK_PAY_LABELS,
    BASIS_LABELS,
    BATCH_LABELS,
    ENROLMENT_LABELS,
    FREQUENCY_LABELS,
    KIND_LABELS,
    PAYMENT_KIND_LABELS,
    PAYMENT_LABELS,
    STOP_LABELS,
    SUSPEND_LABELS,
    TIMING_LABELS,
)

bp = Blueprint("subsidies", __name__, url_prefix="/subsidies")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
KEEPERS = actions.KEEPERS
#: The bank-file pages of this feature (another blueprint); linked once it is registered.
BANK_FILE_ENDPOINT = "subsidy_files.export_batch"
REPORT_ENDPOINT = "subsidy_files.report"


@bp.after_request
def _no_store(response):
    # Names, ID numbers and accounts of beneficiaries: never kept in a browser's cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def has_endpoint(endpoint: str) -> bool:
    """Whether a page of another blueprint (the bank files, the reports) is registered."""
    return endpoint in current_app.view_functions


@bp.context_processor
def _labels():
    return {
        "kind_labels": KIND_LABELS,
        "frequency_labels": FREQUENCY_LABELS,
        "timing_labels": TIMING_LABELS,
        "basis_labels": BASIS_LABELS,
        "enrolment_labels": ENROLMENT_LABELS,
        "stop_labels": STOP_LABELS,
        "suspend_labels": SUSPEND_LABELS,
        "back_pay_labels": BACK_PAY_LABELS,
        "account_labels": ACCOUNT_LABELS,
        "batch_labels": BATCH_LABELS,
        "payment_labels": PAYMENT_LABELS,
        "payment_kind_labels": PAYMENT_KIND_LABELS,
        "economic_labels": ECONOMIC_LABELS,
        "ability_labels": ABILITY_LABELS,
        "township_of": queries.township_of,
        # The tabs the user has beyond every staff member's (the report once it is registered).
        "section_actions": actions.section_actions(current_user, has_endpoint(REPORT_ENDPOINT)),
        "period_label": queries.period_label,
    }


def back(endpoint: str, **values):
    return redirect(url_for(endpoint, **values))


# The pages register themselves on ``bp``.
from eldercare.subsidies.views import batches, enrolments, programs, recoveries  # noqa: E402

__all__ = ["batches", "bp", "enrolments", "programs", "recoveries"]
