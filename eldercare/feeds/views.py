"""Pages of the data feeds: the list of imports, the upload, the columns page, an import's
report and file, the review queue and a row's decision. County staff and administrators."""

from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import CombinedMultiDict

from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import Role, get_visible_or_404, roles_required
from eldercare.core.schemas import PageArgs
from eldercare.core.transaction import transactional
from eldercare.feeds import operations as ops
from eldercare.feeds.models import KIND_LABELS, REASON_LABELS, FeedImport, FeedRow
from eldercare.feeds.schemas import (
    FIELDS,
    DecisionSchema,
    MappingSchema,
    QueueQuery,
    UploadSchema,
    max_bytes,
    max_rows,
)

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
OFFICERS = (Role.ADMIN, Role.COUNTY_STAFF)


@bp.route("/")
@roles_required(*OFFICERS)
def index():
    page, _args = list_page(PageArgs(), lambda args: ops.imports_of(current_user))
    return render_template("feeds/index.html", page=page)


def _upload_page(form, errors, status=200):
    return render_template(
        "feeds/upload.html",
        form=form,
        errors=errors,
        kinds=[(k.value, str(v)) for k, v in KIND_LABELS.items()],
        counties=ops.counties_for(current_user),
        sources=ops.sources_of(current_user),
        choose_county=current_user.role == Role.ADMIN.value,
        max_mb=format(max_bytes() / (1024 * 1024), "g"),
        max_rows=max_rows(),
    ), status


@bp.route("/upload", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def upload():
    if request.method == "GET":
        return _upload_page({}, {})
    result = submit_form(
        UploadSchema(),
        lambda d: ops.upload(d, current_user),
        formdata=CombinedMultiDict([request.form, request.files]),
    )
    if not result.ok:
        errors = dict(result.errors)
        if "file" not in errors:
            errors["file"] = [_("Choose the file again.")]
        return _upload_page(request.form, errors, result.status)
    return redirect(url_for("feeds.mapping", import_id=result.value.id))


def _mapping_page(feed_import, form=None, errors=None, status=200):
    shown = ops.mapping_page(feed_import)
    return render_template(
        "feeds/mapping.html",
        feed_import=feed_import,
        fields=FIELDS,
        form=form if form is not None else shown["chosen"],
        errors=errors or {},
        **shown,
    ), status


@bp.route("/<int:import_id>/columns", methods=["GET", "POST"])
@roles_required(*OFFICERS)
def mapping(import_id: int):
    feed_import = get_visible_or_404(FeedImport, import_id)
    if feed_import.is_processed:
        return redirect(url_for("feeds.show", import_id=feed_import.id))
    if request.method == "GET":
        return _mapping_page(feed_import)
    result = submit_form(MappingSchema(), lambda d: ops.process(feed_import, d, current_user))
    if not result.ok:
        return _mapping_page(feed_import, request.form, result.errors, result.status)
    done = result.value
    flash(
        _(
            "List processed: %(applied)s applied, %(known)s already known, %(review)s to "
            "review, %(unknown)s unknown, %(rejected)s rejected.",
            applied=done.applied,
            known=done.already_known,
            review=done.to_review,
            unknown=done.unknown,
            rejected=done.rejected,
        ),
        "success",
    )
    return redirect(url_for("feeds.show", import_id=done.id))


@bp.route("/<int:import_id>")
@roles_required(*OFFICERS)
def show(import_id: int):
    feed_import = get_visible_or_404(FeedImport, import_id)
    return render_template(
        "feeds/show.html", feed_import=feed_import, rows=ops.rows_of_import(feed_import)
    )


@bp.route("/<int:import_id>/file")
@roles_required(*OFFICERS)
@transactional
def download(import_id: int):
    feed_import = get_visible_or_404(FeedImport, import_id)
    content = ops.file_of(feed_import, current_user)
    response = send_file(
        io.BytesIO(content),
        as_attachment=True,
        download_name=feed_import.original_name,
        mimetype="application/octet-stream",
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/review")
@roles_required(*OFFICERS)
def review():
    page, args = list_page(QueueQuery(), lambda args: ops.queue_of(current_user, args))
    return render_template(
        "feeds/review.html",
        page=page,
        args=args,
        kinds=KIND_LABELS,
        reasons=REASON_LABELS,
    )


def _row_page(row, form=None, errors=None, status=200):
    return render_template(
        "feeds/row.html",
        row=row,
        candidates=ops.candidates(row, current_user),
        may_decide=ops.may_decide(row, current_user),
        form=form or {"person_id": str(row.person_id or "")},
        errors=errors or {},
    ), status


@bp.route("/rows/<int:row_id>")
@roles_required(*OFFICERS)
def row(row_id: int):
    return _row_page(get_visible_or_404(FeedRow, row_id))


@bp.route("/rows/<int:row_id>/decide", methods=["POST"])
@roles_required(*OFFICERS)
def decide(row_id: int):
    found = get_visible_or_404(FeedRow, row_id)
    result = submit_form(DecisionSchema(), lambda d: ops.decide(found, d, current_user))
    if not result.ok:
        return _row_page(found, request.form, result.errors, result.status)
    flash(
        _("The row is applied.") if result.value.applied_person_id else _("The row is dismissed."),
        "success",
    )
    return redirect(url_for("feeds.review"))
