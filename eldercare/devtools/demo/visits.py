"""The demo's visits: 马营镇's people in a covered category, visited for a year."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from eldercare.core.db import local_today
from eldercare.devtools.demo.data import DEMO_VISIT_NOTES
from eldercare.extensions import db
from eldercare.regions.models import Region


def load_visits(rng: random.Random, regions: dict[str, Region], users: dict) -> tuple[int, int]:
    """Everyone of 马营镇 in a covered category is visited by the demo visitor: a year of
    visits at their tier's interval (a few missed), so that some are overdue today, some due
    soon, and the coverage page has a history."""
    from eldercare.visits import operations as visits
    from eldercare.visits.models import CareAssignment, Visit

    township = regions["610302006000"]
    staff, visitor = users["township"], users["visitor"]
    today = local_today()
    people = db.session.scalars(visits.candidates(staff, township)).all()
    made = 0
    for person in people:
        target = visits.enrol(person, staff, on=today - timedelta(days=rng.randrange(200, 400)))
        db.session.add(
            CareAssignment(target=target, visitor_id=visitor.id, assigned_by_id=staff.id)
        )
        interval = visits.policy_for(target.county_id).interval_days(target.tier)
        # Today's state first: a few visited today, most within their interval, about one in
        # seven overdue; then the earlier visits back to the enrolment, a few missed.
        gap = int(interval * rng.choice([0, 0.2, 0.4, 0.6, 0.8, 0.95, 1.15]))
        day = today - timedelta(days=gap)
        latest = True
        while day >= target.enrolled_on:
            if latest or rng.random() > 0.07:
                hour = rng.randrange(8, 11) if day == today else rng.randrange(8, 18)
                at = datetime.combine(day, time(hour, rng.randrange(0, 60)))
                db.session.add(
                    Visit(
                        target_id=target.id,
                        visitor_id=visitor.id,
                        visited_at=at.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC),
                        method=rng.choices(["home", "phone", "video"], [70, 25, 5])[0],
                        living_conditions=rng.choices(["good", "fair", "poor"], [70, 25, 5])[0],
                        health=rng.choices(["stable", "changed", "poor"], [75, 20, 5])[0],
                        mood=rng.choices(["good", "fair", "low"], [70, 25, 5])[0],
                        family_support=rng.choices(["fulfilled", "partial", "absent"], [70, 25, 5])[
                            0
                        ],
                        summary=rng.choice(DEMO_VISIT_NOTES),
                    )
                )
                made += 1
            latest = False
            day -= timedelta(days=interval + rng.randrange(-2, 3))
        visits.refresh_due(target)
    db.session.flush()
    return len(people), made
