"""Care plans for staff and visitors: today's list, the plans and the candidates to enrol,
one plan's page and the actions it offers (tier, visitors, end, major event)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from eldercare.core.db import local_today, utcnow
from eldercare.core.forms import list_page, submit_form
from eldercare.core.permissions import Role, role_of, roles_required
from eldercare.people.models import ABILITY_LABELS
from eldercare.regions import areas as area
from eldercare.visits import operations as ops
from eldercare.visits.models import (
    CATEGORY_LABELS,
    END_LABELS,
    EVENT_LABELS,
    FINDING_CHOICES,
    FINDING_LABELS,
    METHOD_LABELS,
    CareTarget,
)
from eldercare.visits.schemas import (
    AssignSchema,
    CandidateQuery,
    EndSchema,
    EnrolManySchema,
    EnrolSchema,
    EventSchema,
    OverrideSchema,
    TargetQuery,
)
from eldercare.visits.views.common import FIELD, MANAGERS, bp, common, target_of


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
        actions=ops.allowed_actions(current_user),
        **common(),
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
        **common(),
    )


def _candidates_page(chosen=(), errors=None, status=200):
    """The people to enrol; after a refused enrolment, with the people ticked still ticked
    and what was wrong (naming the person) above the list."""

    page, args = list_page(CandidateQuery(), lambda a: ops.search_candidates(current_user, a))
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


@bp.route("/candidates", methods=["POST"])
@roles_required(*MANAGERS)
def enrol_many():
    result = submit_form(
        EnrolManySchema(), lambda data: ops.enrol_many(data["person_ids"], current_user)
    )
    if not result.ok:
        return _candidates_page(request.form.getlist("person_ids"), result.errors, result.status)
    flash(_("%(n)s people enrolled for regular visits.", n=len(result.value)), "success")
    return redirect(url_for("visits.targets", unassigned=1))


@bp.route("/targets", methods=["POST"])
@roles_required(*MANAGERS)
def enrol():
    result = submit_form(
        EnrolSchema(),
        lambda data: ops.enrol_by_id(data["person_id"], current_user, data["categories"]),
    )
    if not result.ok:
        result.flash_errors()
        back = request.form.get("person_id", "")
        if back.isdigit():
            return redirect(url_for("people.show", person_id=int(back))), 303
        return redirect(url_for("visits.candidates")), 303
    flash(_("Enrolled for regular visits."), "success")
    return redirect(url_for("visits.target", target_id=result.value.id))


def target_page(target: CareTarget, form=None, errors=None, failed="", status=200, follow_up=None):
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
        **common(),
    ), status


def _with(follow_ups: list, refused) -> list:
    """The open follow-ups, and the one whose closing was refused (it may be closed now)."""
    if refused is not None and refused not in follow_ups:
        return [*follow_ups, refused]
    return follow_ups


@bp.route("/targets/<int:target_id>")
@roles_required(*FIELD)
def target(target_id: int):
    return target_page(target_of(target_id))


def _act(target_id: int, name: str, schema, action, done: str):
    """Load, validate, run one operation, commit once; a refusal shows the page again with
    what was typed and the message."""
    found = target_of(target_id)
    result = submit_form(schema, lambda data: action(found, data))
    if not result.ok:
        ops.reloaded(found)
        return target_page(found, request.form, result.errors, name, result.status)
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


@bp.route("/targets/<int:target_id>/visitors", methods=["POST"])
@roles_required(*MANAGERS)
def assign(target_id: int):
    return _act(
        target_id,
        "assign",
        AssignSchema(),
        lambda t, d: ops.assign(t, ops.visitor_by_id(d["visitor_id"]), current_user),
        _("Visitor assigned."),
    )


@bp.route("/targets/<int:target_id>/visitors/remove", methods=["POST"])
@roles_required(*MANAGERS)
def unassign(target_id: int):
    return _act(
        target_id,
        "unassign",
        AssignSchema(),
        lambda t, d: ops.unassign(t, ops.visitor_by_id(d["visitor_id"]), current_user),
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
