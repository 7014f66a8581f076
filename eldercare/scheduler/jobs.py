"""The job registry: what the scheduler runs and when (``Job``, ``JOBS``), as the settings say."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Job:
    """A scheduled job: the function to call, as "module:function" (imported only when the
    job runs), and when: ``kind`` "daily" at a local "HH:MM" (in TIMEZONE) or "interval" every
    so many seconds, given by the config key ``setting`` or else by ``when``.

    The function is called inside an app context with one keyword argument, ``now`` (an
    aware UTC datetime); it commits its own work, may be repeated safely, and returns a count.
    A repair sweep (``repairs``) returns what it found inconsistent and repaired: 0 on a
    healthy database, so the administrators' page shows any other count.
    """

    name: str
    target: str
    kind: Literal["daily", "interval"]
    setting: str | None = None
    when: str | int | None = None
    repairs: bool = False

    def schedule(self, config: Mapping[str, Any]) -> str | int:
        value = config[self.setting] if self.setting else self.when
        if value is None:
            raise ValueError(f"job {self.name}: no time given")
        return value

    def trigger(self, config: Mapping[str, Any]) -> BaseTrigger:
        zone = ZoneInfo(config["TIMEZONE"])
        value = self.schedule(config)
        if self.kind == "daily":
            hour, minute = parse_clock(str(value), self.setting or self.name)
            return CronTrigger(hour=hour, minute=minute, timezone=zone)
        seconds = int(value)
        if seconds < 1:
            raise ValueError(f"{self.setting or self.name}: an interval of at least 1 second")
        return IntervalTrigger(seconds=seconds, timezone=zone)

    def describe(self, config: Mapping[str, Any]) -> str:
        value = self.schedule(config)
        if self.kind == "daily":
            hour, minute = parse_clock(str(value), self.setting or self.name)
            return f"daily at {hour:02d}:{minute:02d} ({config['TIMEZONE']})"
        return f"every {int(value)} s"

    def misfire_grace_time(self, config: Mapping[str, Any]) -> int:
        # A daily run held up (host suspended, clock jump) still runs within three hours; an
        # interval run late by a whole interval is skipped, the next one is due anyway.
        return 3 * 3600 if self.kind == "daily" else int(self.schedule(config))

    @property
    def title(self) -> str:
        """What the job does, in the reader's language (the name is its identifier)."""
        return str(TITLES.get(self.name, self.name))

    def resolve(self) -> Callable[..., int]:
        return import_target(self.target)


JOBS: list[Job] = [
    Job(
        "visits-digest",
        "eldercare.visits.tasks:send_daily_digests",
        "daily",
        setting="VISIT_DIGEST_TIME",
    ),
    Job(
        "visits-overdue",
        "eldercare.visits.tasks:remind_overdue",
        "daily",
        setting="VISIT_OVERDUE_TIME",
    ),
    Job(
        "visits-escalate",
        "eldercare.visits.tasks:escalate_overdue",
        "daily",
        setting="VISIT_ESCALATION_TIME",
    ),
    Job(
        "outbox-dispatch",
        "eldercare.notifications.tasks:dispatch_outbox",
        "interval",
        setting="OUTBOX_DISPATCH_SECONDS",
    ),
    Job("beds-expire", "eldercare.beds.tasks:expire_reservations", "interval", when=5 * 60),
    Job(
        "ratings-expiry",
        "eldercare.ratings.tasks:remind_expiring",
        "daily",
        setting="RATING_EXPIRY_TIME",
    ),
    # A rating result whose public notice is over (objections all answered) is published.
    Job(
        "ratings-publish",
        "eldercare.ratings.tasks:publish_due",
        "daily",
        setting="RATING_PUBLISH_TIME",
    ),
    # After midnight, the repair sweeps: anything a death or a move out of the county left
    # behind (a stay, a membership, a visit plan, an enrolment, a booking) is repaired by the
    # operation the event itself uses; each counts what it repaired (0 when healthy). The
    # subsidies are repaired before notices that ended yesterday activate.
    Job("beds-repair", "eldercare.beds.tasks:repair_departed", "daily", when="00:10", repairs=True),
    Job(
        "daycare-repair",
        "eldercare.daycare.tasks:repair_departed",
        "daily",
        when="00:12",
        repairs=True,
    ),
    Job(
        "visits-repair",
        "eldercare.visits.tasks:repair_departed",
        "daily",
        when="00:14",
        repairs=True,
    ),
    Job(
        "subsidies-repair",
        "eldercare.subsidies.tasks:repair_departed",
        "daily",
        when="00:15",
        repairs=True,
    ),
    Job("subsidies-activate", "eldercare.subsidies.tasks:activate_due", "daily", when="00:20"),
    # The existence check (生存认证) of the people subsidies are paid for.
    Job(
        "subsidies-existence",
        "eldercare.subsidies.existence.tasks:run_checks",
        "daily",
        when="08:30",
    ),
    Job("subsidies-reminders", "eldercare.subsidies.tasks:send_reminders", "daily", when="08:45"),
    # Requests nobody answered lapse at their start; families hear of tomorrow's bookings.
    Job("bookings-expire", "eldercare.bookings.tasks:expire_requests", "interval", when=15 * 60),
    Job("bookings-remind", "eldercare.bookings.tasks:send_reminders", "daily", when="10:00"),
    Job(
        "bookings-repair",
        "eldercare.bookings.tasks:repair_departed",
        "daily",
        when="00:25",
        repairs=True,
    ),
    # The county overviews people look at, recomputed before anybody has to wait for them.
    Job(
        "overview-refresh",
        "eldercare.dashboard.tasks:refresh",
        "interval",
        setting="OVERVIEW_REFRESH_SECONDS",
    ),
]


#: What each job does, as the administrators' page names it.
TITLES = {
    "visits-digest": _l("Morning digest of visits due"),
    "visits-overdue": _l("Reminders of overdue visits"),
    "visits-escalate": _l("Overdue visits escalated to the township"),
    "outbox-dispatch": _l("Sending e-mail and SMS from the outbox"),
    "beds-expire": _l("Expired bed reservations released"),
    "ratings-expiry": _l("Star grades about to expire"),
    "ratings-publish": _l("Rating results published after their notice"),
    "beds-repair": _l("Repair: stays of people who died"),
    "daycare-repair": _l("Repair: day-care memberships of people who left"),
    "visits-repair": _l("Repair: visit plans of people who left"),
    "subsidies-repair": _l("Repair: subsidies of people who left"),
    "subsidies-activate": _l("Enrolments activated after their notice"),
    "subsidies-existence": _l("Existence checks due and overdue"),
    "subsidies-reminders": _l("Subsidy reviews, candidates and batches due"),
    "bookings-expire": _l("Unanswered booking requests lapse"),
    "bookings-remind": _l("Booking reminders the day before"),
    "bookings-repair": _l("Repair: bookings of people who left"),
    "overview-refresh": _l("County overviews recomputed"),
}


def import_target(path: str) -> Any:
    """The object named by "package.module:attribute"."""
    module_name, _, attribute = path.partition(":")
    if not attribute:
        raise ValueError(f"{path!r}: expected 'module:attribute'")
    return getattr(importlib.import_module(module_name), attribute)


def parse_clock(text: str, what: str) -> tuple[int, int]:
    """A time of day in the settings, "07:30", as (7, 30)."""
    hour, sep, minute = text.strip().partition(":")
    if sep and hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
        return int(hour), int(minute)
    raise ValueError(f"{what}: {text!r} is not a time of day like 07:30")


def repair_jobs(jobs: list[Job]) -> list[Job]:
    return [job for job in jobs if job.repairs]


def configured_jobs(app: Flask) -> list[Job]:
    """SCHEDULER_JOBS (a list, or "module:attribute" naming one), else JOBS."""
    jobs = app.config.get("SCHEDULER_JOBS") or JOBS
    if isinstance(jobs, str):
        jobs = import_target(jobs)
    jobs = list(jobs)
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    for job in jobs:
        job.trigger(app.config)  # a bad time in the settings stops the start, not a run later
    return jobs
