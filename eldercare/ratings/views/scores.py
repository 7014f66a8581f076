"""The scoring pages: a self-assessment or an assessor's scores, the evidence files attached
to their items (uploaded from the scoring form, which keeps what was typed), downloading and
removing a file."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from eldercare.core.forms import submit_form
from eldercare.core.permissions import get_visible_or_404, roles_required
from eldercare.core.transaction import transactional
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Application, Evidence
from eldercare.ratings.schemas import ConfirmSchema, EvidenceSchema, ScoresSchema, scores_of
from eldercare.ratings.views.common import (
    EVIDENCE_READERS,
    KINDS,
    READERS,
    application_or_404,
    bp,
)


def _scorable(application_id: int, kind: str) -> Application:
    """The application, for one who may score it in this capacity (404 / 403 otherwise)."""
    found = application_or_404(application_id)
    if kind not in KINDS:
        abort(404)
    if not ops.may_score(current_user, found, kind):
        abort(403)
    return found


def _scores_page(
    found: Application, kind: str, form=None, errors=None, failed_item=None, status=200
):
    return render_template(
        "ratings/scores.html",
        app_=found,
        kind=kind,
        current=ops.current_scores(found, kind, current_user),
        evidence=ops.evidence_by_item(found, kind, current_user),
        may_change=ops.may_change(current_user, found, kind),
        max_mb=f"{current_app.config['RATING_EVIDENCE_MAX_BYTES'] / (1024 * 1024):g}",
        form=form,
        errors=errors or {},
        failed_item=failed_item,
    ), status


@bp.route("/applications/<int:application_id>/scores/<kind>", methods=["GET", "POST"])
@roles_required(*READERS)
def scores(application_id: int, kind: str):
    found = _scorable(application_id, kind)
    if request.method == "GET":
        return _scores_page(found, kind)
    submit = request.form.get("action") == "submit"
    result = submit_form(
        ScoresSchema.of(found),
        lambda d: ops.save_scores(found, kind, d["entries"], current_user, submit),
    )
    if result.ok:
        flash(_("Handed in.") if submit else _("Saved."), "success")
        return redirect(url_for("ratings.application", application_id=found.id))
    return _scores_page(found, kind, request.form, result.errors, status=result.status)


#: The scoring form's own fields: an upload sent from that form carries them along.
SCORE_FIELDS = ("score-", "met-", "note-")


@bp.route("/applications/<int:application_id>/scores/<kind>/evidence", methods=["POST"])
@roles_required(*READERS)
def upload_evidence(application_id: int, kind: str):
    """Attach one file to an item. Sent from the scoring page (the item's Attach button is a
    button of the scores form), it carries the page's scores and notes: they are saved as a
    draft first, so that scoring, then photographing, loses nothing that was typed."""
    found = _scorable(application_id, kind)
    item_id = request.form.get("item_id", type=int)
    upload = request.files.get(f"file-{item_id}") or request.files.get("file")
    carries_scores = any(key.startswith(SCORE_FIELDS) for key in request.form)

    def action(data):
        if carries_scores:
            ops.save_scores(found, kind, scores_of(request.form, found), current_user, False)
        return ops.attach_evidence(found, kind, data["item_id"], data["file"], current_user)

    result = submit_form(
        EvidenceSchema(),
        action,
        formdata=CombinedMultiDict([request.form, MultiDict({"file": upload} if upload else {})]),
    )
    if not result.ok:
        errors = dict(result.errors)
        if upload and upload.filename:
            # A browser never fills a file field in again: say so, beside what was refused.
            errors.setdefault("file", []).append(_("Choose the file again to attach it."))
        form = request.form if carries_scores else None
        return _scores_page(found, kind, form, errors, item_id, result.status)
    flash(
        _("Scores saved and file attached: %(name)s", name=result.value.original_name)
        if carries_scores
        else _("File attached: %(name)s", name=result.value.original_name),
        "success",
    )
    return redirect(
        url_for(
            "ratings.scores",
            application_id=found.id,
            kind=kind,
            _anchor=f"item-{result.value.item_id}",
        )
    )


@bp.route("/evidence/<int:evidence_id>")
@roles_required(*EVIDENCE_READERS)
@transactional
def evidence_file(evidence_id: int):
    found = get_visible_or_404(Evidence, evidence_id)
    path = ops.evidence_download(found, current_user)
    # Photos open in the browser; a PDF is only ever downloaded (a browser's PDF viewer runs
    # scripts); nothing is sniffed into another type.
    response = send_file(
        path,
        mimetype=found.content_type,
        as_attachment=found.is_pdf,
        download_name=found.original_name,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/evidence/<int:evidence_id>/delete", methods=["POST"])
@roles_required(*EVIDENCE_READERS)
def delete_evidence(evidence_id: int):
    found = get_visible_or_404(Evidence, evidence_id)
    assessment = found.assessment
    back = url_for(
        "ratings.scores",
        application_id=assessment.application_id,
        kind=assessment.kind,
        _anchor=f"item-{found.item_id}",
    )
    name = found.original_name
    application = assessment.application
    carries_scores = any(key.startswith(SCORE_FIELDS) for key in request.form)

    def action(data):
        # Sent from the scoring page, the removal carries its unsaved scores: kept first.
        if carries_scores:
            entries = scores_of(request.form, application)
            ops.save_scores(application, assessment.kind, entries, current_user, False)
        ops.remove_evidence(found, current_user)

    result = submit_form(ConfirmSchema(), action)
    if result.ok:
        flash(_("File removed: %(name)s", name=name), "success")
        return redirect(back)
    if carries_scores and ops.may_score(current_user, application, assessment.kind):
        return _scores_page(
            application, assessment.kind, request.form, result.errors, found.item_id, result.status
        )
    result.flash_errors()
    return redirect(url_for("ratings.application", application_id=assessment.application_id)), 303
