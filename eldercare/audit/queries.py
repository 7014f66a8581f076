"""What the audit log page lists: the entries a user may see, filtered."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from eldercare.core.audit import AuditLog
from eldercare.core.permissions import visible


def search_audit(user, args: dict) -> sa.Select:
    """Entries in ``user``'s scope, newest first; days are the local (configured) days."""
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
