"""Visit pages: the visitor's "today and overdue" list and visit form (made for a phone),
care plans for staff, coverage and the ledger export, the county's visit rules."""

from __future__ import annotations

import contextlib
import os
import uuid

import plotly
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
from flask_login import current_user

from eldercare.auth.models import User
from eldercare.core import audit
from eldercare.core.db import MAX_ID, local_today, utcnow
from eldercare.core.errors import AppError, Invalid
from eldercare.core.forms import errors_of, list_page, submit_form
from eldercare.core.permissions import (
    Role,
    get_visible_or_404,
    role_of,
    roles_required,
    scope_clause,
)
from eldercare.core.schemas import load_form
from eldercare.core.templating import local_time
from eldercare.extensions import db
from eldercare.people.models import ABILITY_LABELS, Person
from eldercare.regions import areas as area
from eldercare.regions.models import Region
from eldercare.visits import coverage as cov
from eldercare.visits import figures
from eldercare.visits import operations as ops
from eldercare.visits.models import (
    CATEGORY_LABELS,
    END_LABELS,
    EVENT_LABELS,
    FINDING_CHOICES,
    FINDING_LABELS,
    METHOD_LABELS,
    RATE_BASIS_HELP,
    RATE_BASIS_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    CareTarget,
    FollowUp,
    VisitPolicy,
)
from eldercare.visits.schemas import (
    AssignSchema,
    CandidateQuery,
    CloseFollowUpSchema,
    CoverageQuery,
    EndSchema,
    EnrolManySchema,
    EnrolSchema,
    EventSchema,
    OverrideSchema,
    PolicySchema,
    TargetQuery,
    VisitSchema,
)

bp = Blueprint("visits", __name__, url_prefix="/visits")
MANAGERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
FIELD = (*MANAGERS, Role.VISITOR)
STATUS_COLOURS = {"overdue": "danger", "due": "warning", "upcoming": "secondary", "done": "success"}
TIER_COLOURS = {"high": "danger", "key": "warning", "general": "info"}


@bp.app_context_processor
def _plan_lookup():
    """The registry's person page shows the person's visit plan (or offers to enrol)."""
    return {"visit_plan_of": ops.plan_of}


def _target(target_id: int) -> CareTarget:
    return get_visible_or_404(CareTarget, target_id)


def _common() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "status_colours": STATUS_COLOURS,
        "tier_labels": TIER_LABELS,
        "tier_colours": TIER_COLOURS,
        "today": local_today(),
        "now": utcnow(),
    }


@bp.route("/")
@roles_required(*FIELD)
def due():
    """Today and overdue: what the visitor should do now, in the order to do it."""
    today = local_today()
    return render_template(
        "visits/due.html",
        lists=ops.due_list(current_user, today),
        follow_ups=ops.open_follow_ups(current_user),
        soon_days=ops._soon_days_for(current_user),
        **_common(),
    )


@bp.route("/targets")
@roles_required(*FIELD)
def targets():
    page, args = list_page(TargetQuery(), lambda a: ops.search_targets(current_user, a))
    visitors = []
    if role_of(current_user) != Role.VISITOR:
        visitors = ops.visitors_in_area(current_user)
    return render_template(
        "visits/targets.html",
        page=page,
        args=args,
        regions=area.region_choices(current_user),
        visitors=visitors,
        can_manage=ops.can_manage(current_user),
        soon_days=ops._soon_days_for(current_user),
        **_common(),
    )


def _candidates_page(chosen=(), errors=None, status=200):
    """The people to enrol; after a refused enrolment, with the people ticked still ticked
    and what was wrong (naming the person) above the list."""

    def search(args):
        region = db.session.get(Region, args["region_id"]) if args.get("region_id") else None
        return ops.candidates(current_user, region)

    page, args = list_page(CandidateQuery(), search)
    return render_template(
        "visits/candidates.html",
        page=page,
        args=args,
        regions=area.region_choices(current_user),
        today=local_today(),
        chosen=set(chosen),
        errors=errors or {},
    ), status


@bp.route("/candidates")
@roles_required(*MANAGERS)
def candidates():
    return _candidates_page()


def _enrol_one(person: Person):
    try:
        return ops.enrol(person, current_user)
    except AppError as err:  # one of many: say whom it is about
        problem = err.message or next(iter(errors_of(err).values()))[0]
        message = _("%(name)s: %(problem)s", name=person.name, problem=problem)
        raise AppError(err.code, message, audit=err.audit) from err


@bp.route("/candidates", methods=["POST"])
@roles_required(*MANAGERS)
def enrol_many():
    def action(data):
        people = db.session.scalars(
            db.select(Person).where(
                Person.id.in_(data["person_ids"]), scope_clause(Person, current_user)
            )
        ).all()
        if len(people) != len(set(data["person_ids"])):
            raise Invalid(errors={"person_ids": [_("Choose people of your area.")]})
        return [_enrol_one(p) for p in people]

    result = submit_form(EnrolManySchema(), action)
    if not result.ok:
        return _candidates_page(request.form.getlist("person_ids"), result.errors, result.status)
    flash(_("%(n)s people enrolled for regular visits.", n=len(result.value)), "success")
    return redirect(url_for("visits.targets", unassigned=1))


@bp.route("/targets", methods=["POST"])
@roles_required(*MANAGERS)
def enrol():
    def action(data):
        person = db.session.get(Person, data["person_id"])
        if person is None:
            raise Invalid(errors={"person_id": [_("The page or record was not found.")]})
        return ops.enrol(person, current_user, data["categories"])

    result = submit_form(EnrolSchema(), action)
    if not result.ok:
        result.flash_errors()
        back = request.form.get("person_id", "")
        if back.isdigit():
            return redirect(url_for("people.show", person_id=int(back))), 303
        return redirect(url_for("visits.candidates")), 303
    flash(_("Enrolled for regular visits."), "success")
    return redirect(url_for("visits.target", target_id=result.value.id))


def _target_page(target: CareTarget, form=None, errors=None, failed="", status=200, follow_up=None):
    """The plan page; after a refused action, with the form ``failed`` open, its messages
    and what was sent (shown even if the plan no longer offers that form, e.g. just ended)."""
    policy = ops.policy_for(target.county_id)
    manage = ops.can_manage(current_user, target)
    return render_template(
        "visits/target.html",
        target=target,
        person=target.person,
        ability=ops.current_ability(target.person_id),
        ability_labels=ABILITY_LABELS,
        policy=policy,
        status=target.status_on(local_today(), utcnow(), policy.due_soon_days),
        visits=ops.visits_of(target),
        events=ops.events_of(target),
        follow_ups=_with(ops.open_follow_ups(current_user, target), follow_up),
        can_manage=manage,
        can_record=ops.can_record(current_user, target),
        visitor_choices=ops.assignable_visitors(target, current_user) if manage else [],
        category_labels=CATEGORY_LABELS,
        end_labels=END_LABELS,
        event_labels=EVENT_LABELS,
        method_labels=METHOD_LABELS,
        finding_labels=FINDING_LABELS,
        finding_choices=FINDING_CHOICES,
        form=form or {},
        errors=errors or {},
        failed=failed,
        **_common(),
    ), status


def _with(follow_ups: list, refused) -> list:
    """The open follow-ups, and the one whose closing was refused (it may be closed now)."""
    if refused is not None and refused not in follow_ups:
        return [*follow_ups, refused]
    return follow_ups


@bp.route("/targets/<int:target_id>")
@roles_required(*FIELD)
def target(target_id: int):
    return _target_page(_target(target_id))


def _act(target_id: int, name: str, schema, action, done: str):
    """Load, validate, run one operation, commit once; a refusal shows the page again with
    what was typed and the message."""
    found = _target(target_id)
    result = submit_form(schema, lambda data: action(found, data))
    if not result.ok:
        db.session.refresh(found)
        return _target_page(found, request.form, result.errors, name, result.status)
    flash(done, "success")
    return redirect(url_for("visits.target", target_id=found.id))


@bp.route("/targets/<int:target_id>/tier", methods=["POST"])
@roles_required(*MANAGERS)
def override(target_id: int):
    return _act(
        target_id,
        "tier",
        OverrideSchema(),
        lambda t, d: ops.set_override(t, d.get("tier"), d.get("reason", ""), current_user),
        _("Risk tier saved; the next visit date is recomputed."),
    )


def _visitor(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role != Role.VISITOR.value:
        raise Invalid(errors={"visitor_id": [_("Choose a visitor of this area.")]})
    return user


@bp.route("/targets/<int:target_id>/visitors", methods=["POST"])
@roles_required(*MANAGERS)
def assign(target_id: int):
    return _act(
        target_id,
        "assign",
        AssignSchema(),
        lambda t, d: ops.assign(t, _visitor(d["visitor_id"]), current_user),
        _("Visitor assigned."),
    )


@bp.route("/targets/<int:target_id>/visitors/remove", methods=["POST"])
@roles_required(*MANAGERS)
def unassign(target_id: int):
    return _act(
        target_id,
        "unassign",
        AssignSchema(),
        lambda t, d: ops.unassign(t, _visitor(d["visitor_id"]), current_user),
        _("Visitor removed."),
    )


@bp.route("/targets/<int:target_id>/end", methods=["POST"])
@roles_required(*MANAGERS)
def end(target_id: int):
    return _act(
        target_id,
        "end",
        EndSchema(),
        lambda t, d: ops.end_target(t, d["reason"], d["ended_on"], current_user),
        _("Regular visits ended."),
    )


@bp.route("/targets/<int:target_id>/events", methods=["POST"])
@roles_required(*FIELD)
def report_event(target_id: int):
    return _act(
        target_id,
        "event",
        EventSchema(),
        lambda t, d: ops.report_event(t, d, current_user),
        _("Major event recorded; the visitors are told to visit."),
    )


@bp.route("/targets/<int:target_id>/visits/new", methods=["GET", "POST"])
@roles_required(*FIELD)
def record(target_id: int):
    found = _target(target_id)
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
        db.session.refresh(found)
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
        **{k: v for k, v in _common().items() if k not in ("today",)},
        today=local_today(),
    ), status


@bp.route("/follow-ups")
@roles_required(*FIELD)
def follow_ups():
    return render_template(
        "visits/follow_ups.html", follow_ups=ops.open_follow_ups(current_user), **_common()
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
        db.session.refresh(follow_up)
        return _target_page(
            follow_up.target,
            request.form,
            result.errors,
            f"follow-up-{follow_up.id}",
            result.status,
            follow_up=follow_up,
        )
    flash(_("Follow-up closed."), "success")
    return redirect(url_for("visits.target", target_id=follow_up.target_id))


def _coverage_args() -> tuple[Region, dict]:
    args, errors = load_form(CoverageQuery(), request.args)
    if errors:
        flash(_("Some filters were not valid and were ignored."), "warning")
        args = {}
    if args.get("region_id"):
        region = area.region_in_scope(current_user, args["region_id"])
    else:
        region = area.default_region(current_user)
    if region is None:
        abort(404)
    args.setdefault("month", local_today().replace(day=1))
    return region, args


@bp.route("/coverage")
@roles_required(*MANAGERS)
def coverage():
    region, args = _coverage_args()
    result = cov.coverage(
        region, args["month"], scope_clause(CareTarget, current_user), basis=args.get("basis")
    )
    charts = {
        "areas": figures.rate_by_area(result),
        "trend": figures.rate_trend(result),
    }
    return render_template(
        "visits/coverage.html",
        cov=result,
        charts={name: fig.to_json() for name, fig in charts.items()},
        regions=area.region_choices(current_user),
        plotly_version=plotly.__version__,
        overdue=db.paginate(
            ops.search_targets(
                current_user, {"status": "overdue", "region_id": region.id}, local_today()
            ),
            page=1,
            per_page=50,
            error_out=False,
        ),
        target_rate=cov.TARGET_RATE,
        chosen_basis=args.get("basis"),
        rate_basis_labels=RATE_BASIS_LABELS,
        rate_basis_help=RATE_BASIS_HELP,
        **_common(),
    )


@bp.route("/ledger.xlsx")
@roles_required(*MANAGERS)
def ledger():
    region, args = _coverage_args()
    path, rows = cov.ledger_xlsx(region, args["month"], scope_clause(CareTarget, current_user))

    @after_this_request
    def _cleanup(response):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return response

    audit.record(
        "visit.ledger_exported",
        actor=current_user,
        region_id=region.id,
        note=f"{region.code} {args['month']:%Y-%m} {rows}",
    )
    db.session.commit()
    return send_file(
        path,
        as_attachment=True,
        download_name=f"visit-ledger-{region.code}-{args['month']:%Y%m}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _county_for_policy() -> Region:
    """The county named by ``region_id`` if the user may see it; else the user's own."""
    region_id = request.args.get("region_id", "")
    if region_id:
        valid = region_id.isdigit() and int(region_id) <= MAX_ID
        region = area.region_in_scope(current_user, int(region_id)) if valid else None
    else:
        region = area.default_region(current_user)
        if region is not None and region.level != "county":
            choices = area.county_choices(current_user)
            region = choices[0] if choices else None
    if region is None or region.level != "county":
        abort(404)
    return region


@bp.route("/policy", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.COUNTY_STAFF)
def policy():
    county = _county_for_policy()
    errors, status = {}, 200
    if request.method == "POST":
        result = submit_form(
            PolicySchema(), lambda data: ops.save_policy(county, data, current_user)
        )
        if result.ok:
            flash(_("Visit rules saved; every plan of the county is recomputed."), "success")
            return redirect(url_for("visits.policy", region_id=county.id))
        errors, status = result.errors, result.status
    saved = ops.policy_for(county.id)
    return render_template(
        "visits/policy.html",
        county=county,
        policy=saved,
        defaults=VisitPolicy.defaults(county.id),
        form=request.form if request.method == "POST" else {},
        errors=errors,
        ability_labels=ABILITY_LABELS,
        rate_basis_labels=RATE_BASIS_LABELS,
        rate_basis_help=RATE_BASIS_HELP,
        counties=area.county_choices(current_user),
    ), status
