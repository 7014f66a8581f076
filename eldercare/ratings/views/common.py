"""The ratings blueprint and what its page groups share: who may open which pages, and an
application loaded in the user's scope."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from eldercare.core.permissions import Role, get_visible_or_404
from eldercare.ratings.models import Application, AssessmentKind
from eldercare.regions.models import Region

bp = Blueprint("ratings", __name__, url_prefix="/ratings")
STAFF = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF)
KEEPERS = (Role.ADMIN, Role.COUNTY_STAFF)
#: Who may open an application (each within its scope: an external assessor only those it
#: is appointed to).
READERS = (*STAFF, Role.OPERATOR, Role.ASSESSOR)
#: Who may open evidence files (township staff do not: see ``Evidence.__scope__``).
EVIDENCE_READERS = (Role.ADMIN, Role.COUNTY_STAFF, Role.OPERATOR, Role.ASSESSOR)
KINDS = tuple(k.value for k in AssessmentKind)


def own_county() -> Region | None:
    """The county of the signed-in user's region (None above county level or without one)."""
    return current_user.region.county if current_user.region is not None else None


def application_or_404(application_id: int) -> Application:
    return get_visible_or_404(Application, application_id)
