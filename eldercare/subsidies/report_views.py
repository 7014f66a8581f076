"""Bank files, the bank's return, failed and returned payments, reversals, and the subsidy
reports: pages for county staff (and admins)."""

from __future__ import annotations

import contextlib
import os

import plotly
from flask import (
    Blueprint,
    abort,
    after_this_request,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core import audit
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Invalid
from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.core.schemas import load_form
from eldercare.core.spreadsheets import SpreadsheetError
from eldercare.core.transaction import transactional
from eldercare.regions import areas as area
from eldercare.subsidies import (
    actions,
    bankfile,
    figures,
    periods,
    queries,
    reconciliation,
    reports,
)
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import (
    PAYMENT_LABELS,
    RESOLUTION_LABELS,
    STOP_LABELS,
    SUSPEND_LABELS,
    Batch,
    Payment,
    PaymentStatus,
    Program,
    Resolution,
)
from eldercare.subsidies.schemas import EmptySchema, ReportQuery, ResolveForm, ReverseForm

bp = Blueprint("subsidy_files", __name__, url_prefix="/subsidies")
COUNTY = (Role.ADMIN, Role.COUNTY_STAFF)
XLSX = bankfile.MIMETYPES["xlsx"]
#: Lines of each detail list shown on the report page (the export has them all).
PAGE_LINES = 200


@bp.after_request
def _never_cached(response):
    # Bank files carry full ID and account numbers; the pages, names and amounts.
    response.headers["Cache-Control"] = "no-store"  # send_file would allow a cached copy
    return response


def _send(path: str, name: str, mimetype: str):
    @after_this_request
    def _cleanup(response):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return response

    return send_file(path, as_attachment=True, download_name=name, mimetype=mimetype)


# --- bank files -------------------------------------------------------------------------------


@bp.route("/batches/<int:id>/bank-file.<any(xlsx, csv):fmt>")
@roles_required(*COUNTY)
@transactional
def export_batch(id: int, fmt: str):
    batch = get_visible_or_404(Batch, id)
    file = bankfile.export(batch, fmt, current_user)
    return _send(file.path, file.filename, file.mimetype)


def _return_page(batch: Batch, result=None, error=None, status: int = 200):
    failed = reconciliation.not_arrived(batch, limit=PAGE_LINES)
    reference = request.args.get("ref", "").strip()
    found = None
    if reference.isascii() and reference.isdigit() and len(reference) < 10:
        # The batch's own payments only: the lookup never reaches another batch.
        found = queries.payment_in(batch, int(reference))
    return render_template(
        "subsidies/files/bank_return.html",
        batch=batch,
        totals=ops.totals(batch),
        failed=failed,
        failed_count=reconciliation.not_arrived_count(batch),
        reference=reference,
        found=found,
        actions=actions.return_actions(batch),
        found_actions=actions.reversal_actions(found),
        result=result,
        error=error,
        # The Chinese headings; the English ones are accepted too, the page need not say.
        columns={
            k: [n for n in names if not n.isascii()] for k, names in reconciliation.HEADERS.items()
        },
        required=reconciliation.REQUIRED,
        payment_labels=PAYMENT_LABELS,
        resolution_labels=RESOLUTION_LABELS,
        stop_labels=STOP_LABELS,
        suspend_labels=SUSPEND_LABELS,
        yuan=bankfile.yuan_text,
        period_label=lambda p: periods.label(batch.program.frequency, p),
    ), status


@bp.route("/batches/<int:id>/bank-return", methods=["GET", "POST"])
@roles_required(*COUNTY)
def import_return(id: int):
    batch = get_visible_or_404(Batch, id)
    if request.method == "GET":
        return _return_page(batch)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _return_page(batch, error=_("Choose a file to upload."), status=422)
    checked: dict = {}

    def act(_data: dict) -> reconciliation.ReturnResult:
        try:
            result = reconciliation.import_return(
                batch, upload.filename, upload.read(), current_user
            )
        except SpreadsheetError as exc:
            raise Invalid(str(exc)) from exc
        if not result.ok:
            # A row is wrong: nothing is settled, the page lists every row's errors.
            checked["result"] = result
            raise Invalid()
        return result

    done = submit_form(EmptySchema(), act)
    if not done.ok:
        if "result" in checked:
            return _return_page(batch, result=checked["result"], status=422)
        message = " ".join(str(m) for messages in done.errors.values() for m in messages)
        return _return_page(batch, error=message, status=done.status)
    result = done.value
    flash(
        _(
            "Bank return imported: %(paid)s paid, %(failed)s failed, %(returned)s returned,"
            " %(skipped)s already recorded.",
            paid=result.settled.get(PaymentStatus.PAID.value, 0),
            failed=result.settled.get(PaymentStatus.FAILED.value, 0),
            returned=result.settled.get(PaymentStatus.RETURNED.value, 0),
            skipped=result.skipped,
        ),
        "success",
    )
    if result.reconciled:
        flash(_("Every payment of the batch is settled: the batch is reconciled."), "success")
    return redirect(url_for(".import_return", id=batch.id))


def _back_to(payment: Payment, **args):
    if payment.batch_id is None:
        return redirect(url_for(".report", program_id=payment.program_id))
    return redirect(url_for(".import_return", id=payment.batch_id, **args))


@bp.route("/payments/<int:id>/resolve", methods=["POST"])
@roles_required(*COUNTY)
def resolve_payment(id: int):
    payment = get_visible_or_404(Payment, id)

    def act(data: dict) -> Payment:
        action = data.get("enrolment_action")
        return reconciliation.resolve(
            payment,
            data["resolution"],
            current_user,
            note=data.get("note") or "",
            enrolment_action=action,
            reason=data.get(f"{action}_reason") if action else None,
            from_month=data.get("from_month"),
        )

    result = submit_form(ResolveForm(), act)
    if result.ok:
        flash(
            _(
                "Payment %(id)s: %(resolution)s.",
                id=payment.id,
                resolution=RESOLUTION_LABELS[Resolution(payment.resolution)],
            ),
            "success",
        )
    else:
        result.flash_errors()
    return _back_to(payment)


@bp.route("/payments/<int:id>/reverse", methods=["POST"])
@roles_required(*COUNTY)
def reverse_payment(id: int):
    payment = get_visible_or_404(Payment, id)
    result = submit_form(
        ReverseForm(),
        lambda data: ops.reverse(payment, data["reason"], current_user, repay=data["repay"]),
    )
    if result.ok:
        flash(_("Payment %(id)s reversed.", id=payment.id), "success")
    else:
        result.flash_errors()
    return _back_to(payment, ref=payment.id)


# --- reports ----------------------------------------------------------------------------------


def _report(limit: int | None) -> tuple[list, reports.Report | None]:
    """The report the query string asks for: (the area's programs, the report), no report
    when the area has no program yet."""
    args, errors = load_form(ReportQuery(), request.args)
    if errors:
        flash(_("Some filters were not valid and were ignored."), "warning")
        args = {}
    if args.get("region_id"):
        region = area.region_in_scope(current_user, args["region_id"])
    else:
        region = area.default_region(current_user)
    if region is None:
        abort(404)
    programs = reports.programs_for(region, current_user)
    if args.get("program_id"):
        program = get_visible_or_404(Program, args["program_id"])
        if program not in programs:
            abort(404)
    elif programs:
        program = programs[0]
    else:
        return programs, None
    today = local_today()
    period = args.get("period") or reports.default_period(program, today)
    return programs, reports.build(region, program, period, programs, today, limit=limit)


@bp.route("/reports")
@roles_required(*COUNTY)
def report():
    programs, result = _report(PAGE_LINES)
    chart = None
    if result is not None:
        chart = figures.amounts_by_program(result.months, result.series).to_json()
    return render_template(
        "subsidies/reports/report.html",
        report=result,
        made_at=utcnow(),
        programs=programs,
        chart=chart,
        regions=area.region_choices(current_user),
        payment_labels=PAYMENT_LABELS,
        kind_labels={k: reports.kind_label(k) for k in reports.KINDS},
        yuan=bankfile.yuan_text,
        page_lines=PAGE_LINES,
        plotly_version=plotly.__version__,
    )


@bp.route("/reports.xlsx")
@roles_required(*COUNTY)
@transactional
def report_export():
    _programs, result = _report(None)
    if result is None:
        abort(404)
    path = reports.report_xlsx(result, made_by=current_user.display_name)
    audit.record(
        "subsidies.report_exported",
        result.program,
        region_id=result.area.id,
        note=f"{result.area.code} {result.program.code} {result.period_label}",
    )
    return _send(
        path,
        f"subsidy-report-{result.program.code}-{result.period_label}.xlsx",
        XLSX,
    )
