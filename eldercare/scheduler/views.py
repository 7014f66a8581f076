"""The administrators' page of the scheduled jobs and their runs: each job with its schedule
and its last run (a repair sweep that repaired something stands out), and the recent runs of
one job."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from eldercare.core.forms import list_page
from eldercare.core.permissions import Role, roles_required
from eldercare.core.schemas import PageArgs
from eldercare.scheduler import queries
from eldercare.scheduler.jobs import configured_jobs

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")


@bp.after_request
def _never_cached(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    jobs = configured_jobs(current_app)
    return render_template(
        "scheduler/index.html", lines=queries.job_lines(jobs, current_app.config)
    )


@bp.route("/<name>")
@roles_required(Role.ADMIN)
def runs(name: str):
    job = next((job for job in configured_jobs(current_app) if job.name == name), None)
    if job is None:
        abort(404)
    page, _args = list_page(PageArgs(), lambda _args: queries.runs_of(job))
    return render_template(
        "scheduler/runs.html",
        job=job,
        schedule=queries.schedule_label(job, current_app.config),
        page=page,
    )
