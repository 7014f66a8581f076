"""Pages of the existence check: the township's list of checks due and overdue (with the
form to record one, usable on a phone), one enrolment's checks, and the county's setting
per program. Views load (404 out of scope), validate, call one operation and commit once."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.db import local_today
from eldercare.core.forms import submit_form
from eldercare.core.masking import mask_name
from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.subsidies.existence import operations as ops
from eldercare.subsidies.existence import queries
from eldercare.subsidies.existence.models import (
    LATE_CHECK_REASONS,
    MAX_GRACE,
    MAX_INTERVAL,
    METHOD_LABELS,
    MIN_GRACE,
    MIN_INTERVAL,
    NOTICE_DAYS,
)
from eldercare.subsidies.existence.schemas import CheckSchema, PolicySchema
from eldercare.subsidies.models import BACK_PAY_LABELS, Enrolment, Program

bp = Blueprint("existence", __name__, url_prefix="/subsidies/existence")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
KEEPERS = (Role.ADMIN, Role.COUNTY_STAFF)
#: Where a check recorded from a page goes back to (never a URL taken from the form).
BACK_TO = {"enrolment": "existence.enrolment", "due": "existence.due"}


@bp.after_request
def _no_store(response):
    # Beneficiaries' names and whereabouts: never kept in a browser's cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.context_processor
def _labels():
    return {
        "method_labels": METHOD_LABELS,
        "late_reasons": {r.value: BACK_PAY_LABELS[r] for r in LATE_CHECK_REASONS},
        "may_set": current_user.is_authenticated and current_user.role in KEEPERS,
    }


@bp.route("/")
@roles_required(*STAFF)
def due():
    today = local_today()
    checks = queries.checks_due(today, current_user)
    return render_template(
        "subsidies/existence/due.html",
        overdue=[c for c in checks if c.overdue],
        coming=[c for c in checks if not c.overdue],
        today=today,
        notice_days=NOTICE_DAYS,
    )


def _enrolment_page(enrolment: Enrolment, errors=None, form=None, status: int = 200):
    policy = ops.policy_of(enrolment.program)
    checked = policy is not None and policy.active and enrolment.status in ops.CHECKED_STATUSES
    return render_template(
        "subsidies/existence/enrolment.html",
        e=enrolment,
        masked=mask_name(enrolment.beneficiary_name),
        policy=policy,
        checked=checked,
        due_on=ops.next_due(enrolment, policy) if checked else None,
        checks=queries.checks_of(enrolment),
        today=local_today(),
        errors=errors or {},
        form=form or {},
    ), status


@bp.route("/enrolments/<int:id>")
@roles_required(*STAFF)
def enrolment(id: int):
    return _enrolment_page(get_visible_or_404(Enrolment, id))


@bp.route("/enrolments/<int:id>/checks", methods=["POST"])
@roles_required(*STAFF)
def verify(id: int):
    found = get_visible_or_404(Enrolment, id)
    result = submit_form(CheckSchema(), lambda d: ops.record_check(found, d, current_user))
    if not result.ok:
        return _enrolment_page(found, result.errors, request.form, result.status)
    if result.value.resumed:
        flash(_("Existence check recorded: payments resume."), "success")
    else:
        flash(_("Existence check recorded."), "success")
    endpoint = BACK_TO.get(request.form.get("back", ""), "existence.due")
    values = {"id": found.id} if endpoint == "existence.enrolment" else {}
    return redirect(url_for(endpoint, **values))


@bp.route("/programs")
@roles_required(*KEEPERS)
def programs():
    return render_template(
        "subsidies/existence/programs.html", rows=queries.person_programs(current_user)
    )


def _policy_page(program: Program, errors=None, form=None, status: int = 200):
    policy = ops.policy_of(program)
    return render_template(
        "subsidies/existence/policy.html",
        program=program,
        policy=policy,
        errors=errors or {},
        form=form or {},
        bounds={
            "interval": (MIN_INTERVAL, MAX_INTERVAL),
            "grace": (MIN_GRACE, MAX_GRACE),
        },
    ), status


@bp.route("/programs/<int:id>")
@roles_required(*KEEPERS)
def policy(id: int):
    return _policy_page(get_visible_or_404(Program, id))


@bp.route("/programs/<int:id>", methods=["POST"])
@roles_required(*KEEPERS)
def save_policy(id: int):
    found = get_visible_or_404(Program, id)
    result = submit_form(PolicySchema(), lambda d: ops.save_policy(found, d, current_user))
    if not result.ok:
        return _policy_page(found, result.errors, request.form, result.status)
    flash(_("Existence check setting saved."), "success")
    return redirect(url_for("existence.policy", id=found.id))
