"""Registry pages: list, register, show, edit, assess, reveal the ID, import, export, links."""

from __future__ import annotations

import contextlib
import os

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.core import audit
from eldercare.core.db import local_today
from eldercare.core.forms import list_page, submit_form
from eldercare.core.i18n import DEFAULT_LOCALE, speaking
from eldercare.core.permissions import (
    Role,
    get_visible_or_404,
    is_visible,
    roles_required,
)
from eldercare.core.schemas import load_form
from eldercare.core.spreadsheets import ExportHeader, SpreadsheetError
from eldercare.core.transaction import transactional
from eldercare.people import life_events, queries, roster
from eldercare.people import operations as ops
from eldercare.people.models import (
    ABILITY_LABELS,
    ECONOMIC_LABELS,
    HUKOU_LABELS,
    LINK_LABELS,
    LIVING_FLAGS,
    SEX_LABELS,
    FamilyLink,
    Person,
)
from eldercare.people.permissions import link_request_limit, registration_limit, reveal_limit
from eldercare.people.schemas import (
    LINK_BADGES,
    RELATION_LABELS,
    AssessmentSchema,
    DeathSchema,
    LinkDecisionSchema,
    LinkQuery,
    LinkRequestSchema,
    LookupSchema,
    MoveOutSchema,
    PersonQuery,
    PersonSchema,
    PersonUpdateSchema,
)

bp = Blueprint("people", __name__, url_prefix="/people")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)


def _form_page(form, errors, person=None, status=None):
    """The register/edit form; ``status`` is the refusing error's (409 for a duplicate)."""
    return render_template(
        "people/form.html",
        form=form,
        errors=errors,
        person=person,
        regions=ops.home_regions(current_user),
        economic=ECONOMIC_LABELS,
        hukou=HUKOU_LABELS,
        sexes=SEX_LABELS,
        flags=LIVING_FLAGS,
    ), (status or 422) if errors else 200


@bp.route("/")
@roles_required(*STAFF)
def index():
    page, _args = list_page(
        PersonQuery(), lambda args: queries.person_list(current_user, args), EXPORT_FILTERS
    )
    return render_template(
        "people/index.html",
        page=page,
        args=request.args,
        flags=LIVING_FLAGS,
        economic=ECONOMIC_LABELS,
        regions=ops.home_regions(current_user),
        today=local_today(),
    )


#: How the audit log names the filters of a registry export.
EXPORT_FILTERS = {
    "q": _l("Name contains"),
    "region_id": _l("Area"),
    "flag": _l("Living situation"),
    "economic_status": _l("Economic status"),
    "min_age": _l("Age from"),
    "max_age": _l("Age to"),
    "include_deceased": _l("Including the deceased"),
}


def _filters_note(args: dict) -> str:
    """The filters of an export as the audit log's readers read them (the platform's
    language, as every note is kept): only the filters that were set."""
    with speaking(DEFAULT_LOCALE):
        parts = []
        for key, label in EXPORT_FILTERS.items():
            value = args.get(key)
            if value in (None, False, ""):
                continue
            if key == "region_id":
                region = queries.region_named(value)
                value = region.full_name if region is not None else value
            elif key == "flag":
                value = LIVING_FLAGS.get(value, value)
            elif key == "economic_status":
                value = ECONOMIC_LABELS.get(value, value)
            elif value is True:
                value = _("Yes")
            parts.append(f"{label}{_(': ')}{value}")
        return (_("; ").join(parts) or _("The whole registry in scope"))[:200]


@bp.route("/lookup", methods=["POST"])
@roles_required(*STAFF)
def lookup():
    """Open a person by full ID number (a POST, so the number stays out of URLs and logs)."""
    data, errors = load_form(LookupSchema(), request.form)
    person = None if errors else ops.find_by_id_number(data["id_number"])
    if person is None or not is_visible(person, current_user):
        flash(_("No one with this ID number is registered in your area."), "warning")
        return redirect(url_for("people.index"))
    return redirect(url_for("people.show", person_id=person.id))


@bp.route("/export.xlsx")
@roles_required(*STAFF)
@transactional
def export():
    args, errors = load_form(PersonQuery(), request.args)
    if errors:
        abort(422)
    note = _filters_note(args)
    area = queries.region_named(args.get("region_id")) or current_user.region
    header = ExportHeader.of(
        "老年人信息台账",
        area.full_name if area is not None else "全部地区",
        current_user,
        filters=note,
    )
    path = roster.export_people_xlsx(ops.search_people(current_user, args), header)

    @after_this_request
    def _cleanup(response):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return response

    audit.record(
        "person.exported",
        actor=current_user,
        region_id=current_user.region_id,
        note=note,
    )
    return send_file(
        path,
        as_attachment=True,
        download_name=f"elderly-registry-{local_today():%Y%m%d}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF)
@registration_limit
def new():
    if request.method == "GET":
        return _form_page({}, {})
    result = submit_form(PersonSchema(), lambda data: ops.register_person(data, current_user))
    if not result.ok:
        return _form_page(request.form, result.errors, status=result.status)
    flash(_("%(name)s has been registered.", name=result.value.name), "success")
    return redirect(url_for("people.show", person_id=result.value.id))


@bp.route("/<int:person_id>")
@roles_required(*STAFF, Role.FAMILY)
def show(person_id: int):
    person = get_visible_or_404(Person, person_id)
    if current_user.role == Role.FAMILY:
        return render_template(
            "people/family_view.html", person=person, view=ops.family_view(person)
        )
    return _show_page(person)


def _show_page(person, form=None, errors=None, life_form=None, life_errors=None, status=200):
    """A person's page for staff; ``form``/``errors`` are the assessment form's, ``life_*``
    the death or move-out form's (a refused one shown again with what was typed)."""
    today = local_today().isoformat()
    return render_template(
        "people/show.html",
        person=person,
        links=ops.family_links_of(person),
        events=queries.life_events_of(person),
        may_record=life_events.may_record(current_user, person),
        ability=ABILITY_LABELS,
        relations=RELATION_LABELS,
        link_badges=LINK_BADGES,
        form=form if form is not None else {"assessed_on": today},
        errors=errors or {},
        life_form=life_form if life_form is not None else {},
        life_errors=life_errors or {},
        today=today,
    ), status


@bp.route("/<int:person_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit(person_id: int):
    person = get_visible_or_404(Person, person_id)
    if request.method == "GET":
        shown = (*ops.EDITABLE, "death_date")
        return _form_page({k: getattr(person, k) for k in shown}, {}, person=person)
    result = submit_form(
        PersonUpdateSchema(), lambda data: ops.update_person(person, data, current_user)
    )
    if not result.ok:
        return _form_page(request.form, result.errors, person=person, status=result.status)
    flash(_("Saved."), "success")
    return redirect(url_for("people.show", person_id=person.id))


@bp.route("/<int:person_id>/reveal-id", methods=["POST"])
@roles_required(*STAFF)
@reveal_limit
@transactional
def reveal_id(person_id: int):
    person = get_visible_or_404(Person, person_id)
    number = ops.reveal_id_number(person, current_user)
    return render_template("people/revealed.html", person=person, number=number)


@bp.route("/<int:person_id>/assessments", methods=["POST"])
@roles_required(*STAFF)
def add_assessment(person_id: int):
    person = get_visible_or_404(Person, person_id)
    result = submit_form(
        AssessmentSchema(), lambda data: ops.add_assessment(person, data, current_user)
    )
    if result.ok:
        flash(_("Assessment recorded."), "success")
        return redirect(url_for("people.show", person_id=person.id))
    return _show_page(person, form=request.form, errors=result.errors, status=result.status)


@bp.route("/<int:person_id>/death", methods=["POST"])
@roles_required(*STAFF)
def record_death(person_id: int):
    """A death learned of by the office (a relative, the village): every feature follows in
    the same transaction, and the page lists what each did."""
    person = get_visible_or_404(Person, person_id)
    result = submit_form(
        DeathSchema(),
        lambda data: life_events.record_death(
            person, data["death_date"], current_user, note=data["note"]
        ),
    )
    return _life_event_answer(person, result, _("The death is recorded."))


@bp.route("/<int:person_id>/move-out", methods=["POST"])
@roles_required(*STAFF)
def record_move_out(person_id: int):
    person = get_visible_or_404(Person, person_id)
    result = submit_form(
        MoveOutSchema(),
        lambda data: life_events.record_move_out(
            person,
            data["moved_out_on"],
            current_user,
            destination=data["moved_out_to"],
            note=data["note"],
        ),
    )
    return _life_event_answer(person, result, _("The move out of the county is recorded."))


def _life_event_answer(person, result, done: str):
    if not result.ok:
        return _show_page(
            person, life_form=request.form, life_errors=result.errors, status=result.status
        )
    if result.value.already_known:
        flash(_("The registry already held this: nothing was changed."), "info")
    else:
        flash(done, "success")
    return redirect(url_for("people.show", person_id=person.id, _anchor="life-events"))


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*STAFF)
def import_roster():
    result, error = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a file to upload.")
        else:
            try:
                result = _import_upload(upload)
            except _RosterRefused as refused:
                result, error = refused.result, refused.error
            else:
                flash(_("%(n)s people imported.", n=result.created), "success")
                return redirect(url_for("people.index"))
    status = 422 if (error or (result and not result.ok)) else 200
    return render_template(
        "people/import.html",
        result=result,
        error=error,
        columns=roster.HEADERS,
        required=roster.REQUIRED_COLUMNS,
    ), status


class _RosterRefused(Exception):
    """A roster not imported: the file unreadable (``error``) or rows refused (``result``)."""

    def __init__(self, result=None, error: str | None = None):
        super().__init__(error)
        self.result, self.error = result, error


@transactional
def _import_upload(upload):
    """Import the uploaded roster, all of it or (refused, rolled back) nothing."""
    try:
        result = roster.import_roster(upload.filename, upload.read(), current_user)
    except SpreadsheetError as exc:
        raise _RosterRefused(error=str(exc)) from exc
    if not result.ok:
        raise _RosterRefused(result=result)
    return result


# --- family links ------------------------------------------------------------------------


def _links_page(failed: dict | None = None, status: int = 200):
    """The family links of a status (the query string's); ``failed`` is a refused decision
    shown again in its row: {"link_id", "note", "errors"}."""
    page, args = list_page(LinkQuery(), lambda args: ops.search_links(current_user, args["status"]))
    return render_template(
        "people/links.html",
        page=page,
        shown=args["status"],
        statuses=LINK_LABELS,
        relations=RELATION_LABELS,
        actions={link.id: queries.link_actions(current_user, link) for link in page.items},
        failed=failed or {},
    ), status


@bp.route("/links")
@roles_required(*STAFF, Role.OPERATOR)
def links():
    return _links_page()


@bp.route("/links/<int:link_id>/decide", methods=["POST"])
@roles_required(*STAFF, Role.OPERATOR)
def decide_link(link_id: int):
    link = get_visible_or_404(FamilyLink, link_id)
    result = submit_form(
        LinkDecisionSchema(),
        lambda d: ops.decide_link(link, d["decision"], d["note"], current_user),
    )
    if not result.ok:
        # The list again, the refusal in the link's row with the note as it was typed.
        failed = {"link_id": link.id, "note": request.form.get("note", ""), "errors": result.errors}
        return _links_page(failed, result.status)
    flash(_("Decision recorded."), "success")
    return redirect(url_for("people.links", **request.args))


@bp.route("/links/request", methods=["GET", "POST"])
@roles_required(Role.FAMILY)
@link_request_limit
def link_request():
    if request.method == "GET":
        return render_template(
            "people/link_request.html", form={}, errors={}, relations=RELATION_LABELS
        )
    result = submit_form(
        LinkRequestSchema(),
        lambda d: ops.request_link(current_user, d["name"], d["id_number"], d["relation"]),
    )
    if not result.ok:
        return render_template(
            "people/link_request.html",
            form=request.form,
            errors=result.errors,
            relations=RELATION_LABELS,
        ), result.status
    flash(
        _(
            "Your request has been sent. The township office, or the facility caring for your"
            " relative, will verify it."
        ),
        "success",
    )
    return redirect(url_for("home.index"))
