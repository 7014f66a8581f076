"""Audit log pages for administrators and county staff (their county only)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from marshmallow import fields, validate

from eldercare.core.audit_labels import ACTION_LABELS, ENTITY_LABELS, FIELD_LABELS, value_labels
from eldercare.core.audit import AuditLog
from eldercare.core.forms import list_page
from eldercare.core.permissions import Role, roles_required, visible
from eldercare.core.schemas import PageArgs

bp = Blueprint("audit", __name__, url_prefix="/audit")


class AuditQuery(PageArgs):
    action = fields.String(validate=validate.Length(max=64))
    actor = fields.String(validate=validate.Length(max=80))
    entity_type = fields.String(validate=validate.Length(max=40))
    entity_id = fields.Integer()
    since = fields.Date()
    until = fields.Date()


def search_audit(user, args: dict) -> sa.Select:
    stmt = visible(AuditLog, user).order_by(AuditLog.id.desc())
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    if args.get("action"):
        stmt = stmt.where(AuditLog.action.startswith(args["action"], autoescape=True))
    if args.get("actor"):
        stmt = stmt.where(AuditLog.actor_name == args["actor"])
    if args.get("entity_type"):
        stmt = stmt.where(AuditLog.entity_type == args["entity_type"])
    if args.get("entity_id") is not None:
        stmt = stmt.where(AuditLog.entity_id == args["entity_id"])
    if args.get("since"):
        stmt = stmt.where(AuditLog.at >= datetime.combine(args["since"], time(), tz))
    if args.get("until"):
        stmt = stmt.where(
            AuditLog.at < datetime.combine(args["until"] + timedelta(days=1), time(), tz)
        )
    return stmt


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
