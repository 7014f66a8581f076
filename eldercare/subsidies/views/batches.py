"""Subsidy batch pages: a program's batches, drawing one up, one batch with its control
totals, exceptions and payments, its approval by a second person, releasing or excluding a
payment, voiding a draft and the payment roster to print and sign."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.db import local_today, utcnow
from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import get_visible_or_404, roles_required
from eldercare.core.schemas import PageArgs
from eldercare.core.templating import month, yuan
from eldercare.subsidies import actions, pages, periods, queries
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import PAYMENT_LABELS, Batch, Program
from eldercare.subsidies.schemas import (
    BatchQuery,
    EmptySchema,
    ExcludeSchema,
    GenerateSchema,
    OverrideSchema,
    VoidSchema,
)
from eldercare.subsidies.views import BANK_FILE_ENDPOINT, KEEPERS, back, bp, has_endpoint
from eldercare.subsidies.views.programs import load_program


def _batches_page(program: Program, errors=None, form=None, status: int = 200):
    page, _args = list_page(PageArgs(), lambda a: queries.batches_of(program, current_user))
    current = periods.period_containing(program.frequency, local_today())
    return render_template(
        "subsidies/batches.html",
        program=program,
        page=page,
        totals=queries.totals_of([batch.id for batch in page.items]),
        latest=month(ops.latest_period(program)),
        form=form or {"period": month(current)},
        errors=errors or {},
    ), status


@bp.route("/programs/<int:id>/batches")
@roles_required(*KEEPERS)
def batches(id: int):
    return _batches_page(load_program(id))


@bp.route("/programs/<int:id>/batches", methods=["POST"])
@roles_required(*KEEPERS)
def generate(id: int):
    found = load_program(id)
    result = submit_form(GenerateSchema(), lambda d: ops.generate(found, d["period"], current_user))
    if not result.ok:
        return _batches_page(found, result.errors, request.form, result.status)
    outcome = result.value
    flash(
        _(
            "Batch drawn up: %(added)s payments added, %(excluded)s excluded, %(held)s held.",
            added=outcome.added,
            excluded=outcome.excluded,
            held=outcome.held,
        ),
        "success",
    )
    return back("subsidies.batch", id=outcome.batch.id)


def _batch_page(batch: Batch, errors=None, failed: str = "", status: int = 200):
    page, args = list_page(BatchQuery(), lambda a: queries.batch_payments(batch, a))
    exceptions = pages.batch_exceptions_page(batch, args["xpage"])
    totals = ops.totals(batch)
    return render_template(
        "subsidies/batch.html",
        batch=batch,
        program=batch.program,
        page=page,
        args=args,
        exceptions=exceptions,
        totals=totals,
        # The statuses the batch has payments in, in the order of their labels.
        totals_shown=[(s, label) for s, label in PAYMENT_LABELS.items() if s in totals],
        total_count=sum(count for count, _fen in totals.values()),
        total_fen=sum(fen for _count, fen in totals.values()),
        actions=actions.batch_actions(batch, has_endpoint(BANK_FILE_ENDPOINT)),
        payment_actions=lambda payment: actions.payment_actions(batch, payment),
        is_maker=batch.made_by_id == current_user.id,
        risks=None if batch.is_frozen else queries.approval_risks(batch),
        errors=errors or {},
        failed=failed,
        form=request.form if failed else {},
    ), status


def _batch(batch_id: int) -> Batch:
    return get_visible_or_404(Batch, batch_id)


@bp.route("/batches/<int:id>")
@roles_required(*KEEPERS)
def batch(id: int):
    return _batch_page(_batch(id))


@bp.route("/batches/<int:id>/approve", methods=["POST"])
@roles_required(*KEEPERS)
def approve(id: int):
    found = _batch(id)
    result = submit_form(EmptySchema(), lambda d: ops.approve(found, current_user))
    if not result.ok:
        return _batch_page(found, result.errors, "approve", result.status)
    outcome = result.value
    if outcome.approved:
        flash(
            _(
                "Batch approved: %(count)s payments, %(total)s yuan.",
                count=found.payment_count,
                total=yuan(found.total_fen),
            ),
            "success",
        )
    else:
        # The re-check's changes are kept (and committed): the approver looks at them first.
        flash(
            _(
                "Eligibility changed since the batch was drawn up: %(added)s payments added,"
                " %(excluded)s excluded, %(held)s held. Nothing was approved: review the batch"
                " and approve it again.",
                added=outcome.added,
                excluded=outcome.excluded,
                held=outcome.held,
            ),
            "warning",
        )
    return back("subsidies.batch", id=found.id)


def _payment_action(id: int, payment_id: int, name: str, schema, action, done: str):
    """A staff decision on one payment of a draft batch (release or exclude, with a reason):
    refused, the batch page again with the form sent open."""
    found = _batch(id)
    payment = queries.payment_in(found, payment_id)
    if payment is None:
        abort(404)
    result = submit_form(schema, lambda d: action(payment, d["reason"], current_user))
    if not result.ok:
        return _batch_page(found, result.errors, f"{name}-{payment_id}", result.status)
    flash(done, "success")
    return back("subsidies.batch", id=found.id, _anchor="exceptions")


@bp.route("/batches/<int:id>/payments/<int:payment_id>/override", methods=["POST"])
@roles_required(*KEEPERS)
def override(id: int, payment_id: int):
    return _payment_action(
        id,
        payment_id,
        "override",
        OverrideSchema(),
        ops.override,
        _("Payment released for this batch."),
    )


@bp.route("/batches/<int:id>/payments/<int:payment_id>/exclude", methods=["POST"])
@roles_required(*KEEPERS)
def exclude_payment(id: int, payment_id: int):
    return _payment_action(
        id,
        payment_id,
        "exclude",
        ExcludeSchema(),
        ops.exclude_payment,
        _("Payment excluded from this batch."),
    )


@bp.route("/batches/<int:id>/void", methods=["POST"])
@roles_required(*KEEPERS)
def void_batch(id: int):
    found = _batch(id)
    program_id = found.program_id
    result = submit_form(VoidSchema(), lambda d: ops.void_batch(found, d["reason"], current_user))
    if not result.ok:
        return _batch_page(found, result.errors, "void", result.status)
    flash(
        _(
            "Batch of %(period)s voided: %(count)s payments removed; the period is free again.",
            period=result.value["period"][:7],
            count=result.value["payments"],
        ),
        "success",
    )
    return back("subsidies.batches", id=program_id)


@bp.route("/batches/<int:id>/roster")
@roles_required(*KEEPERS)
def batch_roster(id: int):
    """The batch's 发放花名册 for printing and signing: every payment to be paid (or paid),
    ID and account numbers masked, with the totals, who made it and lines to sign."""
    found = _batch(id)
    return render_template(
        "subsidies/roster.html",
        batch=found,
        program=found.program,
        payments=queries.roster_payments(found),
        totals=ops.totals(found),
        made_at=utcnow(),
    )
