"""An application's page: its scores side by side, the assessors appointed, the committee's
decision, the public notice with its objections and answers, publication, withdrawal."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.db import local_today
from eldercare.core.errors import Invalid
from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, role_of, roles_required
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Application, Objection
from eldercare.ratings.schemas import (
    AnswerSchema,
    AppointSchema,
    ConfirmSchema,
    DecisionSchema,
    ObjectionSchema,
    WithdrawSchema,
)
from eldercare.ratings.views.common import KEEPERS, READERS, application_or_404, bp


def _application_page(
    found: Application, form=None, errors=None, failed: str = "", status: int = 200
):
    """An application's page; after a refused form (``failed`` names it: appoint, decide,
    objection, answer-<id>, withdraw) what was typed in it, and why it was refused."""
    assessors, rows = ops.compare(found)
    preview = ops.combined(found) if found.is_assessed else None
    staff = role_of(current_user) in KEEPERS
    if not ops.may_see_scores(current_user, found):
        # Independent scoring: an assessor sees the others' scores only once their own is in.
        rows = [ops.Comparison(r.item, [], r.self_value, False) for r in rows]
        assessors = []
    return render_template(
        "ratings/application.html",
        app_=found,
        assessors=assessors,
        rows=rows,
        preview=ops.explain(preview) if preview else None,
        result=found.result or None,
        sections={s.code: s.name for s in found.round.scheme.sections},
        objections=ops.objections_of(found),
        assessor_choices=ops.assessor_options(found) if staff else [],
        can_manage=ops.can_manage_round(current_user, found.round),
        actions=ops.allowed_actions(current_user, found),
        evidence=ops.evidence_of(found, current_user),
        today=local_today(),
        notice_starts=ops.notice_starts(found),
        form=form or {},
        errors=errors or {},
        failed=failed,
    ), status


@bp.route("/applications/<int:application_id>")
@roles_required(*READERS)
def application(application_id: int):
    return _application_page(application_or_404(application_id))


def _after(found: Application, result, failed: str):
    """Back to the application once done; its page again, with what was typed, if refused."""
    if not result.ok:
        return _application_page(found, request.form, result.errors, failed, result.status)
    return redirect(url_for("ratings.application", application_id=found.id))


@bp.route("/applications/<int:application_id>/assessors", methods=["POST"])
@roles_required(*KEEPERS)
def appoint(application_id: int):
    found = application_or_404(application_id)

    def action(data):
        user = ops.user_by_id(data["user_id"])
        if user is None:
            raise Invalid(errors={"user_id": [ops.NOT_AN_ASSESSOR]})
        return ops.appoint_assessor(found, user, current_user)

    result = submit_form(AppointSchema(), action)
    return _after(found, result, "appoint")


@bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@roles_required(*KEEPERS, Role.OPERATOR)
def withdraw(application_id: int):
    found = application_or_404(application_id)
    result = submit_form(WithdrawSchema(), lambda d: ops.withdraw(found, d["reason"], current_user))
    if result.ok:
        flash(_("The application is withdrawn."), "info")
    return _after(found, result, "withdraw")


@bp.route("/applications/<int:application_id>/decision", methods=["POST"])
@roles_required(*KEEPERS)
def decide(application_id: int):
    found = application_or_404(application_id)
    result = submit_form(
        DecisionSchema(),
        lambda d: ops.decide(found, d["decision"] == "approve", d["note"], current_user),
    )
    return _after(found, result, "decide")


@bp.route("/applications/<int:application_id>/objections", methods=["POST"])
@roles_required(*KEEPERS)
def objection(application_id: int):
    found = application_or_404(application_id)
    result = submit_form(ObjectionSchema(), lambda d: ops.record_objection(found, d, current_user))
    if result.ok:
        flash(_("Objection recorded."), "success")
    return _after(found, result, "objection")


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@roles_required(*KEEPERS)
def answer_objection(objection_id: int):
    found = get_visible_or_404(Objection, objection_id)
    application = application_or_404(found.application_id)
    result = submit_form(
        AnswerSchema(), lambda d: ops.answer_objection(found, d["resolution"], current_user)
    )
    return _after(application, result, f"answer-{found.id}")


@bp.route("/applications/<int:application_id>/reopen", methods=["POST"])
@roles_required(*KEEPERS)
def reopen(application_id: int):
    found = application_or_404(application_id)
    result = submit_form(AnswerSchema(), lambda d: ops.reopen(found, d["resolution"], current_user))
    if result.ok:
        flash(_("The result is back with the committee."), "info")
    return _after(found, result, "reopen")


@bp.route("/applications/<int:application_id>/publish", methods=["POST"])
@roles_required(*KEEPERS)
def publish(application_id: int):
    found = application_or_404(application_id)
    result = submit_form(ConfirmSchema(), lambda d: ops.publish(found, current_user))
    if result.ok:
        flash(_("Published: the facility's pages show its stars."), "success")
    return _after(found, result, "publish")
