"""Authorization matrix entries for the administrators' page of the scheduled jobs and the
runs of one job (administrators only; a job not in the registry is 404)."""

from __future__ import annotations

from tests.authz.matrix import Route

ADMIN = frozenset({"admin"})


def _job(world, user):
    return "bookings-repair", None


ROUTES = [
    Route("jobs.index", allowed=ADMIN),
    Route("jobs.runs", allowed=ADMIN, target=_job, arg="name"),
]
