"""Star rating pages: the shipped schemes and a county's copies; rounds, their applications,
assessors, scores and evidence files, the committee, withdrawal and closing a round."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from eldercare.auth.models import User
from eldercare.core.db import local_today
from eldercare.core.errors import Invalid
from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, get_visible_or_404, role_of, roles_required, visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import operations as ops
from eldercare.ratings.models import (
    UNDECIDED,
    Application,
    ApplicationStatus,
    AssessmentKind,
    Evidence,
    Item,
    Objection,
    Round,
    Scheme,
)
from eldercare.ratings.schemas import (
    AnswerSchema,
    ApplicationSchema,
    AppointSchema,
    ConfirmSchema,
    CopySchema,
    DecisionSchema,
    EvidenceSchema,
    ItemSchema,
    NoticeDetailsSchema,
    ObjectionSchema,
    RoundSchema,
    ScoresSchema,
    WithdrawSchema,
)
from eldercare.regions import areas as area
from eldercare.regions.models import Region

bp = Blueprint("ratings", __name__, url_prefix="/ratings")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
KEEPERS = (Role.ADMIN, Role.COUNTY_STAFF)
#: Who may open an application (each within its scope: an external assessor only those it
#: is appointed to).
READERS = (*STAFF, Role.OPERATOR, Role.ASSESSOR)
#: Who may open evidence files (township staff do not: see ``Evidence.__scope__``).
EVIDENCE_READERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.OPERATOR, Role.ASSESSOR)
KINDS = tuple(k.value for k in AssessmentKind)


@bp.route("/schemes")
@roles_required(*STAFF)
def schemes():
    return render_template("ratings/schemes.html", schemes=ops.schemes_for(current_user))


def _scheme_page(
    scheme: Scheme, errors=None, failed: int | None = None, status: int = 200, form=None
):
    return render_template(
        "ratings/scheme.html",
        scheme=scheme,
        form=form or {},
        can_edit=ops.can_edit(current_user, scheme),
        can_copy=role_of(current_user) in KEEPERS,
        counties=area.county_choices(current_user) if role_of(current_user) == Role.ADMIN else [],
        errors=errors or {},
        failed=failed,
    ), status


@bp.route("/schemes/<int:scheme_id>")
@roles_required(*STAFF)
def scheme(scheme_id: int):
    return _scheme_page(get_visible_or_404(Scheme, scheme_id))


@bp.route("/schemes/<int:scheme_id>/copy", methods=["POST"])
@roles_required(*KEEPERS)
def copy(scheme_id: int):
    original = get_visible_or_404(Scheme, scheme_id)

    def action(data):
        county = None
        if role_of(current_user) == Role.ADMIN:
            county = db.session.get(Region, data["county_id"]) if data.get("county_id") else None
            if county is None or county.level != "county":
                abort(422)
        return ops.copy_scheme(original, current_user, county)

    result = submit_form(CopySchema(), action)
    if not result.ok:
        return _scheme_page(original, result.errors, status=result.status, form=request.form)
    flash(
        _("Copied as version %(version)s for your county.", version=result.value.version), "success"
    )
    return redirect(url_for("ratings.scheme", scheme_id=result.value.id))


@bp.route("/schemes/<int:scheme_id>/items/<int:item_id>", methods=["POST"])
@roles_required(*KEEPERS)
def update_item(scheme_id: int, item_id: int):
    found = get_visible_or_404(Scheme, scheme_id)
    item = db.session.get(Item, item_id)
    if item is None or item.section.scheme_id != found.id:
        abort(404)
    result = submit_form(ItemSchema(), lambda d: ops.update_item(item, d, current_user))
    if not result.ok:
        db.session.refresh(found)
        return _scheme_page(
            found, result.errors, failed=item.id, status=result.status, form=request.form
        )
    flash(_("Item saved."), "success")
    return redirect(url_for("ratings.scheme", scheme_id=found.id, _anchor=f"item-{item.id}"))


# --- rounds and applications -------------------------------------------------------------------


def _county() -> Region | None:
    return current_user.region.county if current_user.region is not None else None


def _rounds_page(form=None, errors=None, status: int = 200):
    """The rounds and the form to open one (after a refusal: what was typed, with why)."""
    return render_template(
        "ratings/rounds.html",
        rounds=db.session.scalars(
            visible(Round, current_user).order_by(Round.year.desc(), Round.id.desc())
        ).all(),
        schemes=[
            s
            for s in ops.schemes_for(current_user)
            if s.region_id is None or s.region_id == getattr(_county(), "id", None)
        ],
        counties=area.county_choices(current_user),
        can_open=role_of(current_user) in KEEPERS,
        today=local_today(),
        form=form or {},
        errors=errors or {},
    ), status


@bp.route("/rounds")
@roles_required(*STAFF)
def rounds():
    return _rounds_page()


@bp.route("/rounds", methods=["POST"])
@roles_required(*KEEPERS)
def open_round():
    def action(data):
        county = _county()
        if role_of(current_user) == Role.ADMIN:
            county = db.session.get(Region, data["county_id"]) if data.get("county_id") else None
        if county is None or county.level != "county":
            raise Invalid(errors={"county_id": [_("Choose a county.")]})
        return ops.open_round(county, data, current_user)

    result = submit_form(RoundSchema(), action)
    if not result.ok:
        return _rounds_page(request.form, result.errors, result.status)
    flash(_("Round opened; its scheme is frozen."), "success")
    return redirect(url_for("ratings.round_page", round_id=result.value.id))


def _round_page(rnd: Round, form=None, errors=None, failed: str = "", status: int = 200):
    """A round's page; after a refused form (``failed`` names it) what was typed, and why."""
    applications = db.session.scalars(
        visible(Application, current_user)
        .where(Application.round_id == rnd.id)
        .options(selectinload(Application.facility), selectinload(Application.assessors))
        .order_by(Application.id)
    ).all()
    return render_template(
        "ratings/round.html",
        rnd=rnd,
        # A withdrawn application counts nowhere: listed apart, below the others.
        applications=[a for a in applications if not a.is_withdrawn],
        withdrawn=[a for a in applications if a.is_withdrawn],
        candidates=ops.candidates_for(rnd) if rnd.is_open else [],
        can_manage=ops.can_manage_round(current_user, rnd),
        unfinished=ops.unfinished_in(rnd),
        form=form or {},
        errors=errors or {},
        failed=failed,
    ), status


@bp.route("/rounds/<int:round_id>")
@roles_required(*STAFF)
def round_page(round_id: int):
    return _round_page(get_visible_or_404(Round, round_id))


@bp.route("/rounds/<int:round_id>/notice", methods=["POST"])
@roles_required(*KEEPERS)
def notice_details(round_id: int):
    rnd = get_visible_or_404(Round, round_id)
    result = submit_form(
        NoticeDetailsSchema(), lambda d: ops.update_notice_details(rnd, d, current_user)
    )
    if not result.ok:
        return _round_page(rnd, request.form, result.errors, "notice", result.status)
    flash(_("Saved."), "success")
    return redirect(url_for("ratings.round_page", round_id=rnd.id))


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@roles_required(*KEEPERS)
def close_round(round_id: int):
    rnd = get_visible_or_404(Round, round_id)
    result = submit_form(ConfirmSchema(), lambda d: ops.close_round(rnd, current_user))
    if result.ok:
        flash(_("Round closed."), "success")
    result.flash_errors()
    return redirect(url_for("ratings.round_page", round_id=rnd.id)), (302 if result.ok else 303)


@bp.route("/rounds/<int:round_id>/applications", methods=["POST"])
@roles_required(*KEEPERS)
def add_application(round_id: int):
    rnd = get_visible_or_404(Round, round_id)

    def action(data):
        facility = db.session.get(Facility, data["facility_id"])
        if facility is None:
            raise Invalid(errors={"facility_id": [_("Choose a facility of the county.")]})
        return ops.add_application(rnd, facility, current_user)

    result = submit_form(ApplicationSchema(), action)
    if not result.ok:
        return _round_page(rnd, request.form, result.errors, "add", result.status)
    return redirect(url_for("ratings.round_page", round_id=rnd.id))


def _application(application_id: int) -> Application:
    return get_visible_or_404(Application, application_id)


@bp.route("/mine")
@roles_required(Role.OPERATOR, Role.ASSESSOR)
def my_applications():
    """An operator's applications for its facility; an external assessor's appointments."""
    return render_template("ratings/mine.html", applications=ops.applications_for(current_user))


def _application_page(
    found: Application, form=None, errors=None, failed: str = "", status: int = 200
):
    """An application's page; after a refused form (``failed`` names it: appoint, decide,
    objection, answer-<id>, withdraw) what was typed in it, and why it was refused."""
    assessors, rows = ops.compare(found)
    preview = ops.combined(found) if found.status == "assessed" else None
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
        objections=db.session.scalars(
            db.select(Objection).where(Objection.application_id == found.id).order_by(Objection.id)
        ).all(),
        assessor_choices=ops.assessor_choices(found.round.region) if staff else [],
        can_manage=ops.can_manage_round(current_user, found.round),
        may_self=ops.may_score(current_user, found, "self"),
        may_assess=ops.may_score(current_user, found, "assessor"),
        may_withdraw=ops.may_withdraw(current_user, found)
        and ApplicationStatus(found.status) in UNDECIDED,
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
    return _application_page(_application(application_id))


def _after(found: Application, result, failed: str):
    """Back to the application once done; its page again, with what was typed, if refused."""
    if not result.ok:
        return _application_page(found, request.form, result.errors, failed, result.status)
    return redirect(url_for("ratings.application", application_id=found.id))


@bp.route("/applications/<int:application_id>/assessors", methods=["POST"])
@roles_required(*KEEPERS)
def appoint(application_id: int):
    found = _application(application_id)

    def action(data):
        user = db.session.get(User, data["user_id"])
        if user is None:
            raise Invalid(errors={"user_id": [ops.NOT_AN_ASSESSOR]})
        return ops.appoint_assessor(found, user, current_user)

    result = submit_form(AppointSchema(), action)
    return _after(found, result, "appoint")


def _scorable(application_id: int, kind: str) -> Application:
    """The application, for one who may score it in this capacity (404 / 403 otherwise)."""
    found = _application(application_id)
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
        ScoresSchema(),
        lambda d: ops.save_scores(
            found, kind, ops.entries_from_form(request.form, found), current_user, submit
        ),
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
            entries = ops.entries_from_form(request.form, found)
            ops.save_scores(found, kind, entries, current_user, False)
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
def evidence_file(evidence_id: int):
    found = get_visible_or_404(Evidence, evidence_id)
    path = ops.evidence_download(found, current_user)
    db.session.commit()
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
    application = db.session.get(Application, assessment.application_id)
    carries_scores = any(key.startswith(SCORE_FIELDS) for key in request.form)

    def action(data):
        # Sent from the scoring page, the removal carries its unsaved scores: kept first.
        if carries_scores:
            entries = ops.entries_from_form(request.form, application)
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


@bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@roles_required(*KEEPERS, Role.OPERATOR)
def withdraw(application_id: int):
    found = _application(application_id)
    result = submit_form(WithdrawSchema(), lambda d: ops.withdraw(found, d["reason"], current_user))
    if result.ok:
        flash(_("The application is withdrawn."), "info")
    return _after(found, result, "withdraw")


@bp.route("/applications/<int:application_id>/decision", methods=["POST"])
@roles_required(*KEEPERS)
def decide(application_id: int):
    found = _application(application_id)
    result = submit_form(
        DecisionSchema(),
        lambda d: ops.decide(found, d["decision"] == "approve", d["note"], current_user),
    )
    return _after(found, result, "decide")


@bp.route("/applications/<int:application_id>/objections", methods=["POST"])
@roles_required(*KEEPERS)
def objection(application_id: int):
    found = _application(application_id)
    result = submit_form(ObjectionSchema(), lambda d: ops.record_objection(found, d, current_user))
    if result.ok:
        flash(_("Objection recorded."), "success")
    return _after(found, result, "objection")


@bp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@roles_required(*KEEPERS)
def answer_objection(objection_id: int):
    found = db.session.get(Objection, objection_id)
    if found is None:
        abort(404)
    application = _application(found.application_id)
    result = submit_form(
        AnswerSchema(), lambda d: ops.answer_objection(found, d["resolution"], current_user)
    )
    return _after(application, result, f"answer-{found.id}")


@bp.route("/applications/<int:application_id>/reopen", methods=["POST"])
@roles_required(*KEEPERS)
def reopen(application_id: int):
    found = _application(application_id)
    result = submit_form(AnswerSchema(), lambda d: ops.reopen(found, d["resolution"], current_user))
    if result.ok:
        flash(_("The result is back with the committee."), "info")
    return _after(found, result, "reopen")


@bp.route("/applications/<int:application_id>/publish", methods=["POST"])
@roles_required(*KEEPERS)
def publish(application_id: int):
    found = _application(application_id)
    result = submit_form(ScoresSchema(), lambda d: ops.publish(found, current_user))
    if result.ok:
        flash(_("Published: the facility's pages show its stars."), "success")
    return _after(found, result, "publish")
