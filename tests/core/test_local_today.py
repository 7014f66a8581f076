"""'Today' is the county's date (Asia/Shanghai), whatever the server's clock zone is."""

from datetime import UTC, date, datetime

import pytest

import eldercare.core.db as core_db
from eldercare.people.schemas import AssessmentSchema


class _Clock(datetime):
    """20:30 UTC on 22 November 2026 is 04:30 on 23 November in Beijing."""

    @classmethod
    def now(cls, tz=None):
        fixed = datetime(2026, 11, 22, 20, 30, tzinfo=UTC)
        return fixed.astimezone(tz) if tz else fixed.replace(tzinfo=None)


@pytest.fixture
def early_morning_in_beijing(monkeypatch):
    monkeypatch.setattr(core_db, "datetime", _Clock)


def test_local_today_is_beijing_date(app, early_morning_in_beijing):
    assert core_db.local_today() == date(2026, 11, 23)


def test_an_assessment_made_this_morning_is_not_in_the_future(app, early_morning_in_beijing):
    loaded = AssessmentSchema().load({"assessed_on": "2026-11-23", "level": "mild"})
    assert loaded["assessed_on"] == date(2026, 11, 23)


def test_tomorrow_in_beijing_is_still_refused(app, early_morning_in_beijing):
    with pytest.raises(Exception, match="assessed_on"):
        AssessmentSchema().load({"assessed_on": "2026-11-24", "level": "mild"})
