"""Subsidy program pages: the programs of an area, a program's settings, rule tables and
exclusions, its public notice and the month's candidates."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import Invalid
from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import Role, get_visible_or_404, role_of, roles_required
from eldercare.core.templating import month, yuan
from eldercare.subsidies import actions, pages, periods, queries
from eldercare.subsidies import operations as ops
from eldercare.subsidies.bankfile import COLUMNS as BANK_COLUMNS
from eldercare.subsidies.models import Program, RuleTable
from eldercare.subsidies.schemas import (
    GRID_ROWS,
    CandidateQuery,
    EmptySchema,
    ExclusionsSchema,
    ProgramSchema,
    ProgramUpdateSchema,
    RuleTableSchema,
)
from eldercare.subsidies.views import KEEPERS, STAFF, back, bp

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
    keeper = actions.keeps_money(current_user)
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
            county = pages.region(data.get("county_id"))
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
    return back("subsidies.program", id=result.value.id)


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


def _program_page(program: Program, errors=None, failed: str = "", form=None, status: int = 200):
    manage = ops.may_manage_program(current_user, program)
    tables = queries.tables_of(program)
    today = local_today()
    current = periods.period_containing(program.frequency, today)
    if failed == "rules" and form is not None:
        grid = RuleTableSchema.typed_grid(form)
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


def load_program(program_id: int) -> Program:
    return get_visible_or_404(Program, program_id)


@bp.route("/programs/<int:id>")
@roles_required(*STAFF)
def program(id: int):
    return _program_page(load_program(id))


def _program_action(program: Program, name: str, schema, action, done: str, formdata=None):
    result = submit_form(schema, action, formdata)
    if not result.ok:
        return _program_page(program, result.errors, name, request.form, result.status)
    flash(done, "success")
    return back("subsidies.program", id=program.id, _anchor=name)


@bp.route("/programs/<int:id>/settings", methods=["POST"])
@roles_required(*KEEPERS)
def update_program(id: int):
    found = load_program(id)
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
    found = load_program(id)
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
    found = load_program(id)
    table = pages.rule_table_of(found, table_id)
    if table is None:
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
    found = load_program(id)
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
    found = load_program(id)
    rows = queries.notice_rows(found, current_user)
    return render_template(
        "subsidies/notice.html", program=found, rows=rows, today=local_today(), made_at=utcnow()
    )


@bp.route("/programs/<int:id>/candidates")
@roles_required(*STAFF)
def candidates(id: int):
    """People reaching the program's age this month, not yet enrolled: who to contact."""
    found = load_program(id)
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
