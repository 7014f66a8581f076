"""API: the visitor's due list and recording a visit, for field apps (token auth).

Visitors reach only the people assigned to them, staff their area; a plan outside the caller's
scope is 404, the same as a missing one. A visit sent again with the same ``client_token``
(a retry after lost signal) answers 200 with the visit already recorded instead of 201.
"""

from __future__ import annotations

from flask_login import current_user

from eldercare.core.api import api_blueprint, api_roles, document_errors
from eldercare.core.db import local_today, utcnow
from eldercare.core.permissions import Role, get_visible_or_404
from eldercare.core.transaction import transactional
from eldercare.visits import operations as ops
from eldercare.visits.models import CareTarget
from eldercare.visits.schemas import DueItemOut, VisitOut, VisitSchema

blp = api_blueprint("visits", "Visit care: the due list and visits recorded in the field")
FIELD = (Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF, Role.VISITOR)


def _item(target: CareTarget, today, now, soon: int) -> dict:
    return {
        "id": target.id,
        "person_id": target.person_id,
        "name": target.person.name,
        "age": target.person.age_on(today),
        "village": target.person.region.name,
        "tier": target.tier,
        "status": target.status_on(today, now, soon),
        "next_due_on": target.next_due_on,
        "urgent_due_at": target.urgent_due_at,
        "last_visit_at": target.last_visit_at,
    }


@blp.route("/due")
@api_roles(*FIELD)
@document_errors(blp, 401, 403)
@blp.response(200, DueItemOut(many=True))
def due():
    """The caller's people to visit now: overdue first, then due soon, then visited today
    (at most 500)."""
    today, now = local_today(), utcnow()
    lists = ops.due_list(current_user, today, now)
    soon = ops._soon_days_for(current_user)
    return [_item(t, today, now, soon) for t in lists.overdue + lists.due + lists.done]


@blp.route("/targets/<int:target_id>/visits", methods=["POST"])
@api_roles(*FIELD)
@document_errors(blp, 401, 403, 404, 409, 422)
@blp.arguments(VisitSchema)
@blp.response(201, VisitOut)
@blp.alt_response(200, schema=VisitOut, description="Already recorded (same client_token)")
@transactional
def record(data, target_id: int):
    """Record a visit to an assigned person (staff: a person of their area). 409 when the
    person is no longer visited, the client token belongs to another visit, or the visit of
    this token was recorded with other entries: send again with ``apply_corrections`` true to
    correct it (its recorder, within 72 hours)."""
    target = get_visible_or_404(CareTarget, target_id)
    if data.get("apply_corrections"):  # after a 409 naming what differs from the saved visit
        visit = ops.correct_visit(target, data, current_user)
        return visit, 200
    visit, created = ops.record_visit(target, data, current_user)
    return visit, 201 if created else 200
