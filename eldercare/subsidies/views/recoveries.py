"""Payments to recover (追回) after a death or a move out of the county: the county's list,
and one recorded as recovered with a note (county staff of the payment's county)."""

from __future__ import annotations

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import get_visible_or_404, roles_required
from eldercare.subsidies import actions, queries
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import RECOVERY_LABELS, Recovery
from eldercare.subsidies.schemas import RecoveredSchema, RecoveryQuery
from eldercare.subsidies.views import KEEPERS, back, bp


def _recoveries_page(errors=None, failed: int | None = None, form=None, status: int = 200):
    page, args = list_page(
        RecoveryQuery(),
        lambda a: ops.recoveries_of(current_user, a["status"], a.get("program_id")),
    )
    return render_template(
        "subsidies/recoveries.html",
        page=page,
        args=args,
        programs=queries.programs_for(current_user),
        recovery_labels=RECOVERY_LABELS,
        actions={r.id: actions.recovery_actions(current_user, r) for r in page.items},
        errors=errors or {},
        failed=failed,
        form=form or {},
    ), status


@bp.route("/recoveries")
@roles_required(*KEEPERS)
def recoveries():
    return _recoveries_page()


@bp.route("/recoveries/<int:id>/recovered", methods=["POST"])
@roles_required(*KEEPERS)
def mark_recovered(id: int):
    found = get_visible_or_404(Recovery, id)
    result = submit_form(
        RecoveredSchema(), lambda d: ops.mark_recovered(found, d["note"], current_user)
    )
    if not result.ok:
        return _recoveries_page(result.errors, found.id, request.form, result.status)
    flash(_("Recorded as recovered."), "success")
    return back("subsidies.recoveries")
