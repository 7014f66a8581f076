"""Audit log pages for administrators and county staff (their county only)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from eldercare.audit.queries import search_audit
from eldercare.audit.schemas import AuditQuery
from eldercare.core.audit_labels import ACTION_LABELS, ENTITY_LABELS, FIELD_LABELS, value_labels
from eldercare.core.forms import list_page
from eldercare.core.permissions import Role, roles_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@roles_required(Role.ADMIN, Role.COUNTY_STAFF)
def index():
    page, _args = list_page(AuditQuery(), lambda args: search_audit(current_user, args))
    return render_template(
        "audit/index.html",
        page=page,
        args=request.args,
        actions=ACTION_LABELS,
        fields=FIELD_LABELS,
        values=value_labels(),
        entities=ENTITY_LABELS,
    )
