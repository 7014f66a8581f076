"""The demo's day care: a center that runs every weekday and one that has gone quiet."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from eldercare.core.db import local_today, utcnow
from eldercare.devtools.demo.data import SURNAMES
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import (
    Person,
)
from eldercare.regions.models import Region


def load_daycare(
    rng: random.Random, regions: dict[str, Region], users: dict, facilities
) -> tuple[int, int]:
    """经二路街道日间照料中心 runs every weekday: 24 members of its township, two months of
    attendance, lunches (some subsidised), activities, an incident. 马营东村农村幸福院 has members
    but recorded no attendance for three weeks: the county view flags it as not operating."""
    from eldercare.core.db import day_start
    from eldercare.daycare.models import (
        Activity,
        Attendance,
        Center,
        ClosedDay,
        Incident,
        Meal,
        Member,
    )

    today = local_today()
    operator = users["daycare"]
    center_facility = facilities["jingerlu"]
    happiness = db.session.scalar(sa.select(Facility).where(Facility.name == "马营东村农村幸福院"))
    db.session.add_all(
        [
            Center(
                facility_id=center_facility.id,
                capacity=30,
                open_days=[0, 1, 2, 3, 4],
                meal_types=["lunch"],
                meal_price_fen=1200,
            ),
            Center(
                facility_id=happiness.id,
                capacity=20,
                open_days=[0, 2, 4],
                meal_types=["lunch"],
                meal_price_fen=800,
            ),
        ]
    )
    closed = today - timedelta(days=(today.weekday() + 7) % 7 + 7)  # a Monday two weeks back
    db.session.add(ClosedDay(facility_id=center_facility.id, day=closed, reason="设备检修"))
    made_members = 0
    made_attendance = 0
    for facility, region_code, n, last_day in (
        (center_facility, "610302001000", 24, today),
        (happiness, "610302006201", 10, today - timedelta(days=21)),
    ):
        town = regions[region_code]
        people = db.session.scalars(
            sa.select(Person)
            .join(Region, Region.id == Person.region_id)
            .where(Region.code.startswith(town.prefix), Person.death_date.is_(None))
            .order_by(Person.id)
            .limit(n)
        ).all()
        members = []
        for person in people:
            days = sorted(rng.sample([0, 1, 2, 3, 4], rng.choice([3, 4, 5])))
            member = Member(
                facility_id=facility.id,
                person_id=person.id,
                joined_on=today - timedelta(days=rng.randrange(70, 400)),
                days=days,
                transport=rng.random() < 0.2,
                subsidised_meals=person.economic_status != "none",
                emergency_contact=rng.choice(SURNAMES) + "先生",
                emergency_phone=f"139{rng.randrange(10**7, 10**8)}",
            )
            db.session.add(member)
            members.append(member)
        made_members += len(members)
        db.session.flush()
        day = today - timedelta(days=62)
        center_days = {0, 1, 2, 3, 4} if facility is center_facility else {0, 2, 4}
        while day <= last_day:
            if day.weekday() in center_days and day != closed:
                activity_people = []
                for member in members:
                    if day.weekday() not in member.days or rng.random() < 0.12:
                        continue
                    start = day_start(day) + timedelta(hours=rng.choice([8, 8.5, 9]))
                    if day == today:
                        start = min(start, utcnow())
                    db.session.add(
                        Attendance(
                            facility_id=facility.id,
                            person_id=member.person_id,
                            day=day,
                            check_in_at=start,
                            check_out_at=None if day == today else start + timedelta(hours=7),
                            recorded_by_id=operator.id if facility is center_facility else None,
                        )
                    )
                    made_attendance += 1
                    activity_people.append(member.person)
                    if rng.random() < 0.85:
                        db.session.add(
                            Meal(
                                facility_id=facility.id,
                                person_id=member.person_id,
                                day=day,
                                meal_type="lunch",
                                subsidised=member.subsidised_meals,
                                price_fen=1200 if facility is center_facility else 800,
                            )
                        )
                if activity_people and day.weekday() in (1, 3) and day < today:
                    start = day_start(day) + timedelta(hours=14)
                    db.session.add(
                        Activity(
                            facility_id=facility.id,
                            title=rng.choice(
                                ["太极拳", "健康讲座：冬季防跌倒", "手工编织", "戏曲欣赏", "生日会"]
                            ),
                            category=rng.choice(
                                ["exercise", "health", "handicraft", "culture", "social"]
                            ),
                            starts_at=start,
                            ends_at=start + timedelta(hours=1, minutes=30),
                            participants=rng.sample(activity_people, min(len(activity_people), 8)),
                        )
                    )
            day += timedelta(days=1)
    first = center_facility
    db.session.add(
        Incident(
            facility_id=first.id,
            occurred_at=day_start(today - timedelta(days=9)) + timedelta(hours=13),
            risk="fall",
            severity="minor",
            description="午休后起身时滑倒，膝部擦伤，已消毒包扎。",
            action_taken="通知家属，观察一小时无异常",
            follow_up="卫生间加装防滑垫",
            reported_by_id=operator.id,
        )
    )
    db.session.flush()
    return made_members, made_attendance
