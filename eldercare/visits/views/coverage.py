"""Area pages for staff: monthly visit coverage, the visit ledger (.xlsx) and a county's
visit rules."""

from __future__ import annotations

import contextlib
import os

import plotly
from flask import (
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

from eldercare.core import audit
from eldercare.core.db import MAX_ID, local_today
from eldercare.core.forms import submit_form
from eldercare.core.permissions import Role, roles_required, scope_clause
from eldercare.core.schemas import load_form
from eldercare.core.transaction import transactional
from eldercare.people.models import ABILITY_LABELS
from eldercare.regions import areas as area
from eldercare.regions.models import Region
from eldercare.visits import coverage as cov
from eldercare.visits import figures
from eldercare.visits import operations as ops
from eldercare.visits.models import RATE_BASIS_HELP, RATE_BASIS_LABELS, CareTarget, VisitPolicy
from eldercare.visits.schemas import CoverageQuery, PolicySchema
from eldercare.visits.views.common import MANAGERS, bp, common


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
        overdue=ops.overdue_in(current_user, region, local_today()),
        actions=ops.allowed_actions(current_user),
        target_rate=cov.TARGET_RATE,
        chosen_basis=args.get("basis"),
        rate_basis_labels=RATE_BASIS_LABELS,
        rate_basis_help=RATE_BASIS_HELP,
        **common(),
    )


@bp.route("/ledger.xlsx")
@roles_required(*MANAGERS)
@transactional
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
