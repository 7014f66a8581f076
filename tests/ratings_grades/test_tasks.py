"""Expiry reminders: the county staff of a facility's county hear once per grade and person
of a grade in force that runs out within 90 days, in their own language; not of grades
running out later, already expired, superseded, or of a closed facility."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from eldercare.core.i18n import speaking
from eldercare.extensions import db
from eldercare.notifications.models import OutboxMessage
from eldercare.ratings import tasks
from eldercare.scheduler import JOBS
from tests.builders import build_facility, build_user
from tests.ratings_grades.helpers import build_grade

TODAY = date(2026, 3, 2)
#: 09:00 in Beijing: the job's own time (01:00 UTC).
NOW = datetime.combine(TODAY, time(9, 0), tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def ending(facility, days: int, level: int = 3, start_years: int = 3):
    """A grade of ``facility`` whose valid_until is ``days`` days from TODAY."""
    until = TODAY + timedelta(days=days)
    return build_grade(facility, level, until.replace(year=until.year - start_years), until)


def keys() -> set[str]:
    return set(
        db.session.scalars(
            sa.select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.startswith("rating-expiry:")
            )
        )
    )


@pytest.fixture
def setup(world):
    w = world
    county_zh = w.user("county_staff")  # no locale chosen: Chinese
    county_en = build_user("county_staff", w.county_a, locale="en")
    county_b = build_user("county_staff", w.county_b)
    build_user("county_staff", w.county_a, active=False)  # left: hears nothing
    soon = ending(w.facility_a, 30, level=4)
    edge = ending(build_facility(w.township_a, name="边界养老院"), 90)
    later = ending(build_facility(w.township_a, name="较晚养老院"), 91)
    expired = ending(build_facility(w.township_a, name="已过期养老院"), 0)
    replaced = build_facility(w.township_a, name="已复评养老院")
    superseded = ending(replaced, 20)
    build_grade(replaced, 5, TODAY - timedelta(days=10))
    closed = ending(build_facility(w.township_a, name="已关闭养老院", active=False), 10)
    other = ending(w.facility_b, 45)
    return {
        "zh": county_zh,
        "en": county_en,
        "b": county_b,
        "soon": soon,
        "edge": edge,
        "later": later,
        "expired": expired,
        "superseded": superseded,
        "closed": closed,
        "other": other,
    }


def test_once_per_grade_and_county_staff_member(setup):
    s = setup
    sent = tasks.remind_expiring(NOW)
    expected = {
        f"rating-expiry:{s[g].id}:{s[u].id}:inapp"
        for g, u in (("soon", "zh"), ("soon", "en"), ("edge", "zh"), ("edge", "en"))
    } | {f"rating-expiry:{s['other'].id}:{s['b'].id}:inapp"}
    assert keys() == expected
    assert sent == 5
    assert tasks.remind_expiring(NOW) == 0  # run again: nothing new
    assert tasks.remind_expiring(NOW + timedelta(hours=5)) == 0
    assert keys() == expected
    # Township staff, visitors and the other county's staff hear nothing of county A.
    recipients = set(db.session.scalars(sa.select(OutboxMessage.user_id).distinct()))
    assert recipients == {s["zh"].id, s["en"].id, s["b"].id}


def test_a_grade_coming_within_the_window_later_is_told_then(setup):
    s = setup
    tasks.remind_expiring(NOW)
    assert not any(k.startswith(f"rating-expiry:{s['later'].id}:") for k in keys())
    tasks.remind_expiring(NOW + timedelta(days=1))
    assert f"rating-expiry:{s['later'].id}:{s['zh'].id}:inapp" in keys()


def test_the_window_is_configurable(setup, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATING_EXPIRY_NOTICE_DAYS", 30)
    tasks.remind_expiring(NOW)
    assert {k.split(":")[1] for k in keys()} == {str(setup["soon"].id)}


def message(user) -> OutboxMessage:
    return db.session.scalar(
        sa.select(OutboxMessage).where(
            OutboxMessage.user_id == user.id, OutboxMessage.body.contains("马营镇敬老院")
        )
    )


def test_in_the_recipients_language_with_a_link(setup, app):
    s = setup
    tasks.remind_expiring(NOW)
    english, chinese = message(s["en"]), message(s["zh"])
    assert english.subject == "Star grade expiring: 马营镇敬老院"
    assert "★★★★" in english.body and "2026-03-31" in english.body  # last valid day
    assert "30 more days" in english.body
    assert english.link == chinese.link == f"/facilities/{s['soon'].facility_id}"
    with app.test_request_context(), speaking("zh_Hans_CN"):
        from flask_babel import gettext

        assert chinese.subject == gettext("Star grade expiring: %(name)s", name="马营镇敬老院")
    assert chinese.subject != english.subject  # needs the Chinese catalogue


def test_the_job_is_scheduled_daily():
    [job] = [j for j in JOBS if j.name == "ratings-expiry"]
    assert job.resolve() is tasks.remind_expiring
    assert job.kind == "daily" and job.setting == "RATING_EXPIRY_TIME"
