"""What every visit page shares: the blueprint, who may open the pages, the status and tier
colours, and the plan a page is about (404 when out of the user's scope)."""

from __future__ import annotations

from flask import Blueprint

from eldercare.core.db import local_today, utcnow
from eldercare.core.permissions import Role, get_visible_or_404
from eldercare.visits import operations as ops
from eldercare.visits.models import STATUS_LABELS, TIER_LABELS, CareTarget

bp = Blueprint("visits", __name__, url_prefix="/visits")
MANAGERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
FIELD = (*MANAGERS, Role.VISITOR)
STATUS_COLOURS = {"overdue": "danger", "due": "warning", "upcoming": "secondary", "done": "success"}
TIER_COLOURS = {"high": "danger", "key": "warning", "general": "info"}


@bp.app_context_processor
def _plan_lookup():
    """The registry's person page shows the person's visit plan (or offers to enrol)."""
    return {"visit_plan_of": ops.plan_of}


def target_of(target_id: int) -> CareTarget:
    return get_visible_or_404(CareTarget, target_id)


def common() -> dict:
    return {
        "status_labels": STATUS_LABELS,
        "status_colours": STATUS_COLOURS,
        "tier_labels": TIER_LABELS,
        "tier_colours": TIER_COLOURS,
        "today": local_today(),
        "now": utcnow(),
    }
