"""What a visitor records: the visit form (made for a phone, safe to send again) and the
follow-ups a visit opened."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.db import local_today, utcnow
from eldercare.core.forms import submit_form
from eldercare.core.permissions import get_visible_or_404, roles_required
from eldercare.core.templating import local_time
from eldercare.visits import operations as ops
from eldercare.visits.models import FINDING_CHOICES, FINDING_LABELS, METHOD_LABELS, FollowUp
from eldercare.visits.schemas import CloseFollowUpSchema, VisitSchema
from eldercare.visits.views.common import FIELD, bp, common, target_of
from eldercare.visits.views.plans import target_page


@bp.route("/targets/<int:target_id>/visits/new", methods=["GET", "POST"])
@roles_required(*FIELD)
def record(target_id: int):
    found = target_of(target_id)
    if not ops.can_record(current_user, found):
        abort(403)
    status = 200
    errors: dict = {}
    form = request.form if request.method == "POST" else {}
    corrects = ""
    if request.method == "POST":

        def action(data):
            if data.get("apply_corrections"):
                return ops.correct_visit(found, data, current_user), "corrected"
            visit, created = ops.record_visit(found, data, current_user)
            return visit, "created" if created else "already"

        result = submit_form(VisitSchema(), action)
        if result.ok:
            _visit, outcome = result.value
            if outcome == "created":
                message = _("Visit recorded. Next visit due %(date)s.", date=found.next_due_on)
            elif outcome == "corrected":
                message = _(
                    "Your corrections were applied to the saved visit. Next visit due %(date)s.",
                    date=found.next_due_on,
                )
            else:
                message = _("This visit was already recorded.")
            flash(message, "info" if outcome == "already" else "success")
            if request.headers.get("X-Visit-Form") == "fetch":
                # The phone's script navigates itself; a redirect followed by fetch would
                # show (and use up) the message on a page nobody sees.
                return {"redirect": url_for("visits.due"), "outcome": outcome}
            return redirect(url_for("visits.due"))
        ops.reloaded(found)
        errors, status = result.errors, result.status
        if "client_token" in errors:  # the page gives the form a fresh token
            errors = {"_schema": errors.pop("client_token"), **errors}
            form = request.form.copy()
            sent = form.pop("client_token", None)
            if status == 409 and ops.correctable_token(found, sent, current_user):
                corrects = sent
            form.pop("apply_corrections", None)
    policy = ops.policy_for(found.county_id)
    return render_template(
        "visits/record.html",
        target=found,
        person=found.person,
        form=form,
        errors=errors,
        corrects=corrects,
        uuid=uuid.uuid4().hex,
        now_local=local_time(utcnow(), "%Y-%m-%dT%H:%M"),
        method_labels=METHOD_LABELS,
        finding_labels=FINDING_LABELS,
        finding_choices=FINDING_CHOICES,
        status=found.status_on(local_today(), utcnow(), policy.due_soon_days),
        **{k: v for k, v in common().items() if k not in ("today",)},
        today=local_today(),
    ), status


@bp.route("/follow-ups")
@roles_required(*FIELD)
def follow_ups():
    return render_template(
        "visits/follow_ups.html", follow_ups=ops.open_follow_ups(current_user), **common()
    )


@bp.route("/follow-ups/<int:follow_up_id>/close", methods=["POST"])
@roles_required(*FIELD)
def close_follow_up(follow_up_id: int):
    follow_up = get_visible_or_404(FollowUp, follow_up_id)
    result = submit_form(
        CloseFollowUpSchema(),
        lambda data: ops.close_follow_up(follow_up, data["resolution"], current_user),
    )
    if not result.ok:
        ops.reloaded(follow_up)
        return target_page(
            follow_up.target,
            request.form,
            result.errors,
            f"follow-up-{follow_up.id}",
            result.status,
            follow_up=follow_up,
        )
    flash(_("Follow-up closed."), "success")
    return redirect(url_for("visits.target", target_id=follow_up.target_id))
