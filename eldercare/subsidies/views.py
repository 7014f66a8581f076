"""Subsidy pages: programs and their rule tables, applications and the enrolment lifecycle,
the public notice, the monthly candidates, and batches drawn up by one person and approved
by another. Views load (404 out of scope), validate, call one operation and commit once."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.core.audit_labels import ACTION_LABELS
from eldercare.core import permissions
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Invalid
from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import (
    Role,
    get_visible_or_404,
    is_visible,
    role_of,
    roles_required,
)
from eldercare.core.schemas import PageArgs
from eldercare.core.templating import month, yuan
from eldercare.extensions import db, limiter
from eldercare.people.models import ABILITY_LABELS, ECONOMIC_LABELS, Person
from eldercare.people.operations import find_by_id_number
from eldercare.people.permissions import per_account
from eldercare.regions import areas as area
from eldercare.regions.models import Region
from eldercare.subsidies import operations as ops
from eldercare.subsidies import periods, queries
from eldercare.subsidies.bankfile import COLUMNS as BANK_COLUMNS
from eldercare.subsidies.models import (
    ACCOUNT_LABELS,
    BACK_PAY_LABELS,
    BASIS_LABELS,
    BATCH_LABELS,
    ENROLMENT_LABELS,
    FREQUENCY_LABELS,
    KIND_LABELS,
    PAYMENT_KIND_LABELS,
    PAYMENT_LABELS,
    STOP_LABELS,
    SUSPEND_LABELS,
    TIMING_LABELS,
    Batch,
    Enrolment,
    EnrolmentStatus,
    Program,
    RuleTable,
)
from eldercare.subsidies.schemas import (
    GRID_ROWS,
    RULE_FIELDS,
    RULE_LIST_FIELDS,
    AccountChangeSchema,
    BatchQuery,
    CandidateQuery,
    DecisionSchema,
    EmptySchema,
    EnrolmentQuery,
    ExcludeSchema,
    ExclusionsSchema,
    FacilityApplicationSchema,
    GenerateSchema,
    OverrideSchema,
    PersonApplicationSchema,
    ProgramSchema,
    ProgramUpdateSchema,
    ResumeSchema,
    ReviewSchema,
    RuleTableSchema,
    StopSchema,
    SuspendSchema,
    VoidSchema,
    YearlyReviewSchema,
)

bp = Blueprint("subsidies", __name__, url_prefix="/subsidies")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
KEEPERS = (Role.ADMIN, Role.COUNTY_STAFF)
#: The bank-file pages of this feature (another blueprint); linked once it is registered.
BANK_FILE_ENDPOINT = "subsidy_files.export_batch"

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
}
HISTORY_VALUES = {**STOP_LABELS, **SUSPEND_LABELS, **BACK_PAY_LABELS, **ACCOUNT_LABELS}


@bp.after_request
def _no_store(response):
    # Names, ID numbers and accounts of beneficiaries: never kept in a browser's cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.context_processor
def _labels():
    return {
        "kind_labels": KIND_LABELS,
        "frequency_labels": FREQUENCY_LABELS,
        "timing_labels": TIMING_LABELS,
        "basis_labels": BASIS_LABELS,
        "enrolment_labels": ENROLMENT_LABELS,
        "stop_labels": STOP_LABELS,
        "suspend_labels": SUSPEND_LABELS,
        "back_pay_labels": BACK_PAY_LABELS,
        "account_labels": ACCOUNT_LABELS,
        "batch_labels": BATCH_LABELS,
        "payment_labels": PAYMENT_LABELS,
        "payment_kind_labels": PAYMENT_KIND_LABELS,
        "economic_labels": ECONOMIC_LABELS,
        "ability_labels": ABILITY_LABELS,
        "township_of": queries.township_of,
        # Pages of the bank-file and report blueprint are linked once it is registered.
        "has_endpoint": lambda endpoint: endpoint in current_app.view_functions,
        "period_label": queries.period_label,
    }


def _keeper() -> bool:
    return role_of(current_user) in KEEPERS


def _back(endpoint: str, **values):
    return redirect(url_for(endpoint, **values))


# --- programs -----------------------------------------------------------------------------

PROGRAM_DEFAULTS = {
    "kind": "age_allowance",
    "basis": "person",
    "frequency": "monthly",
    "timing": "advance",
    "pay_day": 10,
    "notice_days": 7,
    "review_months": 12,
}


def _programs_page(form=None, errors=None, status: int = 200):
    keeper = _keeper()
    return render_template(
        "subsidies/programs.html",
        programs=queries.programs_for(current_user),
        can_create=keeper,
        counties=queries.counties_for(current_user) if keeper else [],
        form=form if form is not None else PROGRAM_DEFAULTS,
        errors=errors or {},
    ), status


@bp.route("/programs")
@roles_required(*STAFF)
def programs():
    return _programs_page()


@bp.route("/programs", methods=["POST"])
@roles_required(*KEEPERS)
def create_program():
    def action(data):
        county = None
        if role_of(current_user) == Role.ADMIN:
            county = db.session.get(Region, data["county_id"]) if data.get("county_id") else None
        elif current_user.region is not None:
            county = current_user.region.county
        if county is None or county.level != "county":
            raise Invalid(errors={"county_id": [_("Choose a county.")]})
        settings = {key: value for key, value in data.items() if key != "county_id"}
        return ops.create_program(
            county, {"bank_columns": [], "active": True, **settings}, current_user
        )

    result = submit_form(ProgramSchema(), action)
    if not result.ok:
        return _programs_page(request.form, result.errors, result.status)
    flash(
        _("Program %(name)s created: now give it a rule table.", name=result.value.name), "success"
    )
    return _back("subsidies.program", id=result.value.id)


def _grid_from_table(table: RuleTable | None) -> list[dict]:
    if table is None:
        return []
    return [
        {
            "label": rule.label,
            "min_age": "" if rule.min_age is None else str(rule.min_age),
            "max_age": "" if rule.max_age is None else str(rule.max_age),
            "economic_statuses": list(rule.economic_statuses),
            "ability_levels": list(rule.ability_levels),
            "star_levels": [str(level) for level in rule.star_levels],
            "amount": yuan(rule.amount_fen, grouped=False),
        }
        for rule in table.rules
    ]


def _grid_from_form(form) -> list[dict]:
    rows = []
    count = sum(1 for key in form if key.startswith("rules-") and key.endswith("-amount"))
    for n in range(max(count, GRID_ROWS)):
        prefix = f"rules-{n}-"
        rows.append(
            {
                name: form.getlist(prefix + name)
                if name in RULE_LIST_FIELDS
                else form.get(prefix + name, "")
                for name in RULE_FIELDS
            }
        )
    return rows


def _program_page(program: Program, errors=None, failed: str = "", form=None, status: int = 200):
    manage = ops.may_manage_program(current_user, program)
    tables = queries.tables_of(program)
    today = local_today()
    current = periods.period_containing(program.frequency, today)
    if failed == "rules" and form is not None:
        grid = _grid_from_form(form)
        rules_form = {"effective_from": form.get("effective_from", ""), "note": form.get("note")}
    else:
        source_id = request.args.get("from_table", type=int)
        source = next((t for t in tables if t.id == source_id), None)
        grid = _grid_from_table(source or (tables[0] if tables else None))
        start = source.effective_from if source else periods.next_period(program.frequency, current)
        rules_form = {"effective_from": month(start), "note": source.note if source else ""}
    grid += [{} for _ in range(max(GRID_ROWS, len(grid) + 2) - len(grid))]
    used = queries.tables_paid_with(program)
    frozen = queries.frozen_tables(program)
    settings = (
        form
        if failed == "settings" and form is not None
        else {field: getattr(program, field) for field in ops.PROGRAM_FIELDS}
    )
    return render_template(
        "subsidies/program.html",
        program=program,
        tables=[(table, table.id in frozen, table.id in used) for table in tables],
        in_force=program.table_for(current),
        can_manage=manage,
        others=queries.other_programs(program, current_user) if manage else [],
        excluded=queries.excluded_by(program),
        grid=grid,
        rules_form=rules_form,
        settings=settings,
        bank_columns=BANK_COLUMNS,
        errors=errors or {},
        failed=failed,
    ), status


def _program(program_id: int) -> Program:
    return get_visible_or_404(Program, program_id)


@bp.route("/programs/<int:id>")
@roles_required(*STAFF)
def program(id: int):
    return _program_page(_program(id))


def _program_action(program: Program, name: str, schema, action, done: str, formdata=None):
    result = submit_form(schema, action, formdata)
    if not result.ok:
        return _program_page(program, result.errors, name, request.form, result.status)
    flash(done, "success")
    return _back("subsidies.program", id=program.id, _anchor=name)


@bp.route("/programs/<int:id>/settings", methods=["POST"])
@roles_required(*KEEPERS)
def update_program(id: int):
    found = _program(id)
    return _program_action(
        found,
        "settings",
        ProgramUpdateSchema(),
        lambda data: ops.update_program(found, data, current_user),
        _("Saved."),
    )


@bp.route("/programs/<int:id>/rules", methods=["POST"])
@roles_required(*KEEPERS)
def save_rules(id: int):
    found = _program(id)
    return _program_action(
        found,
        "rules",
        RuleTableSchema(),
        lambda data: ops.save_rule_table(
            found, data["effective_from"], data["rules"], data["note"], current_user
        ),
        _("Rule table saved."),
        formdata=RuleTableSchema.from_form(request.form),
    )


@bp.route("/programs/<int:id>/rules/<int:table_id>/delete", methods=["POST"])
@roles_required(*KEEPERS)
def delete_rules(id: int, table_id: int):
    found = _program(id)
    table = db.session.get(RuleTable, table_id)
    if table is None or table.program_id != found.id:
        abort(404)
    return _program_action(
        found,
        "tables",
        EmptySchema(),
        lambda data: ops.delete_rule_table(table, current_user),
        _("Rule table version deleted."),
    )


@bp.route("/programs/<int:id>/exclusions", methods=["POST"])
@roles_required(*KEEPERS)
def set_exclusions(id: int):
    found = _program(id)
    return _program_action(
        found,
        "exclusions",
        ExclusionsSchema(),
        lambda data: ops.set_exclusions(found, data["other_ids"], current_user),
        _("Exclusions saved."),
    )


@bp.route("/programs/<int:id>/notice")
@roles_required(*STAFF)
def notice(id: int):
    """The public notice (公示) of the program's approved applications, for printing."""
    found = _program(id)
    rows = queries.notice_rows(found, current_user)
    return render_template(
        "subsidies/notice.html", program=found, rows=rows, today=local_today(), made_at=utcnow()
    )


@bp.route("/programs/<int:id>/candidates")
@roles_required(*STAFF)
def candidates(id: int):
    """People reaching the program's age this month, not yet enrolled: who to contact."""
    found = _program(id)
    this_month = periods.month_start(local_today())
    page, args = list_page(
        CandidateQuery(),
        lambda a: queries.candidates(found, a.get("month") or this_month, current_user),
    )
    chosen = args.get("month") or this_month
    ages = [r.min_age for t in found.tables for r in t.rules if r.min_age is not None]
    return render_template(
        "subsidies/candidates.html",
        program=found,
        page=page,
        month=chosen,
        age=min(ages) if ages else None,
    )


# --- applications and enrolments ---------------------------------------------------------


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
        person = db.session.get(Person, data["person_id"])
        field = "person_id"
    else:
        person = find_by_id_number(data["id_number"])
        field = "id_number"
    if person is None or not is_visible(person, current_user):
        raise Invalid(errors={field: [_("No one with this ID number is registered in your area.")]})
    return person


@bp.route("/programs/<int:id>/apply")
@roles_required(*STAFF)
def new_enrolment(id: int):
    found = _program(id)
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
    found = _program(id)
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
        return _back("subsidies.enrolment", id=result.value.id)
    person = chosen.get("person")
    if person is None and request.form.get("person_id", "").isdigit():
        candidate = db.session.get(Person, int(request.form["person_id"]))
        person = candidate if candidate and is_visible(candidate, current_user) else None
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
    user = current_user
    state = EnrolmentStatus(enrolment.status)
    local = permissions.is_local_staff_of(user, enrolment.region)
    county = permissions.is_county_staff_of(user, enrolment.program.region)
    ended = state in (EnrolmentStatus.STOPPED, EnrolmentStatus.REJECTED)
    paid = state in (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED)
    today = local_today()
    period = periods.period_containing(
        enrolment.program.frequency, max(today, enrolment.start_month)
    )
    return render_template(
        "subsidies/enrolment.html",
        e=enrolment,
        rule=None if ended else queries.rule_for(enrolment, period),
        rule_period=period,
        history=queries.history_of(enrolment),
        payments=queries.payments_of(enrolment),
        history_fields=HISTORY_FIELDS,
        history_values=HISTORY_VALUES,
        action_labels=ACTION_LABELS,
        may={
            "review": local and state == EnrolmentStatus.APPLIED,
            "decide": county and state == EnrolmentStatus.REVIEWED,
            "refuse": county and state == EnrolmentStatus.IN_NOTICE,
            "suspend": county and state == EnrolmentStatus.ACTIVE,
            "resume": county and state == EnrolmentStatus.SUSPENDED,
            "stop": county and paid,
            "yearly": local and paid,
            "account": local and not ended,
            "reveal": local and bool(enrolment.account_masked),
        },
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
    return _back("subsidies.enrolment", id=enrolment.id)


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


# --- batches ------------------------------------------------------------------------------


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
    return _batches_page(_program(id))


@bp.route("/programs/<int:id>/batches", methods=["POST"])
@roles_required(*KEEPERS)
def generate(id: int):
    found = _program(id)
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
    return _back("subsidies.batch", id=outcome.batch.id)


def _batch_page(batch: Batch, errors=None, failed: str = "", status: int = 200):
    page, args = list_page(BatchQuery(), lambda a: queries.batch_payments(batch, a))
    exceptions = db.paginate(
        queries.batch_exceptions(batch), page=args["xpage"], per_page=20, error_out=False
    )
    totals = ops.totals(batch)
    return render_template(
        "subsidies/batch.html",
        batch=batch,
        program=batch.program,
        page=page,
        args=args,
        exceptions=exceptions,
        totals=totals,
        total_count=sum(count for count, _fen in totals.values()),
        total_fen=sum(fen for _count, fen in totals.values()),
        bank_files=BANK_FILE_ENDPOINT in current_app.view_functions,
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
    return _back("subsidies.batch", id=found.id)


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
    return _back("subsidies.batch", id=found.id, _anchor="exceptions")


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
    return _back("subsidies.batches", id=program_id)


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
