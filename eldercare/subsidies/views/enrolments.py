"""Subsidy application and enrolment pages: an application for a program, the enrolment
list, and one enrolment's page with its lifecycle actions (review, decision, suspension,
resumption, stop, yearly review, the account and its audited reveal)."""

from __future__ import annotations

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.core.audit_labels import ACTION_LABELS
from eldercare.core.db import local_today
from eldercare.core.errors import Invalid
from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import get_visible_or_404, is_visible, roles_required
from eldercare.core.templating import month
from eldercare.extensions import limiter
from eldercare.people.models import Person
from eldercare.people.operations import find_by_id_number
from eldercare.people.permissions import per_account
from eldercare.regions import areas as area
from eldercare.subsidies import actions, pages, periods, queries
from eldercare.subsidies import operations as ops
from eldercare.subsidies.models import (
    ACCOUNT_LABELS,
    BACK_PAY_LABELS,
    STOP_LABELS,
    SUSPEND_LABELS,
    Enrolment,
    Program,
)
from eldercare.subsidies.schemas import (
    AccountChangeSchema,
    DecisionSchema,
    EmptySchema,
    EnrolmentQuery,
    FacilityApplicationSchema,
    PersonApplicationSchema,
    ResumeSchema,
    ReviewSchema,
    StopSchema,
    SuspendSchema,
    YearlyReviewSchema,
)
from eldercare.subsidies.views import KEEPERS, STAFF, back, bp
from eldercare.subsidies.views.programs import load_program

#: Full account numbers shown to one account in an hour (every reveal is audited as well).
reveal_limit = limiter.shared_limit(
    "30 per hour", scope="subsidy-reveal-account", key_func=per_account
)

#: What the enrolment history shows of an audit entry's changes, in the reader's language.
HISTORY_FIELDS = {
    "note": _l("Note"),
    "reason": _l("Reason"),
    "from_month": _l("From month"),
    "stop_month": _l("Stop month"),
    "start_month": _l("First month paid"),
    "notice_until": _l("Notice until"),
    "back_pay_reason": _l("Back-pay reason"),
    "suspended_from": _l("Suspended from"),
    "next_review_on": _l("Next yearly review"),
    "account": _l("Account"),
    "bank": _l("Bank"),
    "holder": _l("Account holder"),
    "kind": _l("Account kind"),
    "program": _l("Program"),
    "died": _l("Date of death"),
    "moved_out_on": _l("Moved out of the county on"),
}
HISTORY_VALUES = {**STOP_LABELS, **SUSPEND_LABELS, **BACK_PAY_LABELS, **ACCOUNT_LABELS}


def _application_page(program: Program, person=None, form=None, errors=None, status: int = 200):
    return render_template(
        "subsidies/apply.html",
        program=program,
        person=person,
        facilities=[] if program.pays_people else queries.facility_choices(program, current_user),
        form=form or {},
        errors=errors or {},
    ), status


def _person_named(data: dict) -> Person:
    """The person an application is for: by registry id or full ID number, in the user's
    area (a number registered elsewhere gets the same answer as an unknown one)."""
    if data.get("person_id"):
        person = pages.person_in_reach(data["person_id"], current_user)
        field = "person_id"
    else:
        person = find_by_id_number(data["id_number"])
        field = "id_number"
        if person is not None and not is_visible(person, current_user):
            person = None
    if person is None:
        raise Invalid(errors={field: [_("No one with this ID number is registered in your area.")]})
    return person


@bp.route("/programs/<int:id>/apply")
@roles_required(*STAFF)
def new_enrolment(id: int):
    found = load_program(id)
    person_id = request.args.get("person_id", type=int)
    person = get_visible_or_404(Person, person_id) if person_id else None
    form = {
        "applied_on": local_today().isoformat(),
        "account_kind": "bank",
        "account_holder": person.name if person else "",
    }
    return _application_page(found, person, form)


@bp.route("/programs/<int:id>/apply", methods=["POST"])
@roles_required(*STAFF)
def apply(id: int):
    found = load_program(id)
    chosen: dict = {}

    def action(data):
        data = dict(data)
        if found.pays_people:
            chosen["person"] = _person_named(data)
            data["person_id"] = chosen["person"].id
        return ops.apply(found, data, current_user)

    schema = PersonApplicationSchema() if found.pays_people else FacilityApplicationSchema()
    result = submit_form(schema, action)
    if result.ok:
        flash(_("Application registered."), "success")
        return back("subsidies.enrolment", id=result.value.id)
    person = chosen.get("person")
    if person is None and request.form.get("person_id", "").isdigit():
        person = pages.person_in_reach(int(request.form["person_id"]), current_user)
    return _application_page(found, person, request.form, result.errors, result.status)


@bp.route("/enrolments")
@roles_required(*STAFF)
def enrolments():
    def search(args):
        region = (
            area.region_in_scope(current_user, args["region_id"]) if args.get("region_id") else None
        )
        return queries.search_enrolments(current_user, {**args, "region": region})

    page, args = list_page(EnrolmentQuery(), search)
    return render_template(
        "subsidies/enrolments.html",
        page=page,
        args=args,
        programs=queries.programs_for(current_user),
        regions=area.region_choices(current_user),
        chosen_region=args.get("region_id") or current_user.region_id,
    )


def _enrolment(enrolment_id: int) -> Enrolment:
    return get_visible_or_404(Enrolment, enrolment_id)


def _enrolment_page(
    enrolment: Enrolment,
    errors=None,
    failed: str = "",
    form=None,
    status: int = 200,
    revealed: str | None = None,
):
    facts = actions.enrolment_facts(enrolment)
    today = local_today()
    period = periods.period_containing(
        enrolment.program.frequency, max(today, enrolment.start_month)
    )
    return render_template(
        "subsidies/enrolment.html",
        e=enrolment,
        rule=queries.rule_for(enrolment, period) if "payable" in facts else None,
        rule_period=period,
        history=queries.history_of(enrolment),
        payments=queries.payments_of(enrolment),
        history_fields=HISTORY_FIELDS,
        history_values=HISTORY_VALUES,
        action_labels=ACTION_LABELS,
        actions=actions.enrolment_actions(current_user, enrolment),
        facts=facts,
        this_month=month(periods.month_start(today)),
        errors=errors or {},
        failed=failed,
        form=form or {},
        revealed=revealed,
    ), status


@bp.route("/enrolments/<int:id>")
@roles_required(*STAFF)
def enrolment(id: int):
    return _enrolment_page(_enrolment(id))


def _enrolment_action(enrolment: Enrolment, name: str, schema, action, done: str):
    result = submit_form(schema, action)
    if not result.ok:
        return _enrolment_page(enrolment, result.errors, name, request.form, result.status)
    flash(done, "success")
    return back("subsidies.enrolment", id=enrolment.id)


@bp.route("/enrolments/<int:id>/review", methods=["POST"])
@roles_required(*STAFF)
def review(id: int):
    found = _enrolment(id)
    approve = request.form.get("decision") == "approve"
    return _enrolment_action(
        found,
        "review",
        ReviewSchema(),
        lambda d: ops.review(found, d["decision"] == "approve", d["note"], current_user),
        _("Passed the township review.") if approve else _("Application rejected."),
    )


@bp.route("/enrolments/<int:id>/decision", methods=["POST"])
@roles_required(*KEEPERS)
def decide(id: int):
    found = _enrolment(id)
    approve = request.form.get("decision") == "approve"
    return _enrolment_action(
        found,
        "decide",
        DecisionSchema(),
        lambda d: ops.decide(found, d["decision"] == "approve", d["note"], current_user),
        _("Approved: the public notice has begun.") if approve else _("Application refused."),
    )


@bp.route("/enrolments/<int:id>/suspend", methods=["POST"])
@roles_required(*KEEPERS)
def suspend(id: int):
    found = _enrolment(id)
    return _enrolment_action(
        found,
        "suspend",
        SuspendSchema(),
        lambda d: ops.suspend(found, d["reason"], d["from_month"], d["note"], current_user),
        _("Payments suspended."),
    )


@bp.route("/enrolments/<int:id>/resume", methods=["POST"])
@roles_required(*KEEPERS)
def resume(id: int):
    found = _enrolment(id)
    return _enrolment_action(
        found,
        "resume",
        ResumeSchema(),
        lambda d: ops.resume(found, d["back_pay_reason"], d["note"], current_user),
        _("Payments resumed."),
    )


@bp.route("/enrolments/<int:id>/stop", methods=["POST"])
@roles_required(*KEEPERS)
def stop(id: int):
    found = _enrolment(id)
    return _enrolment_action(
        found,
        "stop",
        StopSchema(),
        lambda d: ops.stop(found, d["reason"], d["stop_month"], d["note"], current_user),
        _("Payments stopped."),
    )


@bp.route("/enrolments/<int:id>/yearly-review", methods=["POST"])
@roles_required(*STAFF)
def yearly_review(id: int):
    found = _enrolment(id)
    return _enrolment_action(
        found,
        "yearly",
        YearlyReviewSchema(),
        lambda d: ops.record_review(found, d["note"], current_user),
        _("Yearly review recorded."),
    )


@bp.route("/enrolments/<int:id>/account", methods=["POST"])
@roles_required(*STAFF)
def change_account(id: int):
    found = _enrolment(id)
    return _enrolment_action(
        found,
        "account",
        AccountChangeSchema(),
        lambda d: ops.change_account(found, d, current_user),
        _("Account changed."),
    )


@bp.route("/enrolments/<int:id>/account/reveal", methods=["POST"])
@roles_required(*STAFF)
@reveal_limit
def reveal_account(id: int):
    """The full account number, once, on this response only (the reveal is audited)."""
    found = _enrolment(id)
    result = submit_form(EmptySchema(), lambda d: ops.reveal_account(found, current_user))
    if not result.ok:
        return _enrolment_page(found, result.errors, "reveal", status=result.status)
    return _enrolment_page(found, revealed=result.value)
