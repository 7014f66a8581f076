"""Scheduled work of the dashboard: keeping the county overviews ready (``overview-refresh``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app

from eldercare.core.db import local_today, utcnow
from eldercare.dashboard import snapshots
from eldercare.extensions import db

log = logging.getLogger(__name__)


def refresh(now: datetime | None = None) -> int:
    """The ``overview-refresh`` job: recompute this month's overviews that people opened in
    the last ``OVERVIEW_KEEP_DAYS`` days, and every county's and city's, before they go stale
    (a past month is recomputed when somebody opens it); forget those nobody opened for
    longer. Returns how many were computed."""
    config = current_app.config
    now = now or utcnow()
    today = local_today()
    this_month = today.replace(day=1)
    idle_days = config["DAYCARE_IDLE_DAYS"]
    keep = now - timedelta(days=config["OVERVIEW_KEEP_DAYS"])
    # Recomputed when it would be stale before the next run (a minute's margin).
    due = now - timedelta(
        seconds=config["OVERVIEW_MAX_AGE_SECONDS"] - config["OVERVIEW_REFRESH_SECONDS"] - 60
    )

    snapshots.forget_unopened(keep, this_month)
    db.session.commit()

    wanted = snapshots.wanted_this_month(keep, this_month)
    db.session.commit()

    done = 0
    for (region_id, key), ids in wanted.items():
        try:
            if snapshots.refresh_one(region_id, key, ids, this_month, today, idle_days, now, due):
                done += 1
            db.session.commit()
        except Exception:  # one area's failure must not keep the others stale
            db.session.rollback()
            log.exception("overview of region %s for %s not refreshed", region_id, this_month)
    return done
