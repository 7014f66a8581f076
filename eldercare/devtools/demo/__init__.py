"""Deterministic demo data for 宝鸡市: regions, one user per role, facilities, elderly people."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.auth.passwords import hash_password
from eldercare.core import resident_id
from eldercare.core.db import local_today
from eldercare.devtools.demo.beds import load_beds
from eldercare.devtools.demo.data import (
    DEMO_PASSWORD,
    FACILITIES,
    GIVEN_F,
    GIVEN_M,
    PEOPLE_COUNTIES,
    SURNAMES,
    USERS,
)
from eldercare.devtools.demo.daycare import load_daycare
from eldercare.devtools.demo.visits import load_visits
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.people.models import (
    AbilityAssessment,
    EconomicStatus,
    FamilyLink,
    LinkStatus,
    Person,
    id_number_index,
)
from eldercare.regions.models import Region


def _age_weighted(rng: random.Random) -> int:
    """Ages 60-104 following a declining pyramid (many in their 60s, few centenarians)."""
    while True:
        age = 60 + int(rng.expovariate(1 / 11))
        if age <= 104:
            return age


def load_demo(people: int = 2000, seed: int = 2026) -> str:
    from eldercare.commands import BAOJI_CSV
    from eldercare.regions.operations import import_regions_csv

    if db.session.scalar(sa.select(User.id).where(User.username == "admin")) is not None:
        return "demo data already present; nothing done"
    rng = random.Random(seed)
    if db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 0:
        with open(BAOJI_CSV, encoding="utf-8") as handle:
            import_regions_csv(handle.read())
    regions = {r.code: r for r in db.session.scalars(sa.select(Region))}

    facilities = {}
    for i, (key, name, kind, ownership, code, address) in enumerate(FACILITIES):
        f = Facility(
            name=name,
            kind=kind,
            ownership=ownership,
            region_id=regions[code].id,
            address=address,
            contact_name="值班室",
            contact_phone=f"0917-3{i:02d}1234",
            licence_no=f"61030{i:02d}2020{i:04d}",
            latitude=Decimal("34.36") + Decimal(i) / 100,
            longitude=Decimal("107.14") + Decimal(i) / 100,
            description="",
        )
        db.session.add(f)
        if key:
            facilities[key] = f
    db.session.flush()

    password_hash = hash_password(DEMO_PASSWORD)
    users = {}
    for username, display, role, scope in USERS:
        u = User(
            username=username,
            display_name=display,
            role=role,
            password_hash=password_hash,
            email=f"{username}@demo.eldercare.local",
        )
        if scope in facilities:
            u.facility_id = facilities[scope].id
        elif scope:
            u.region_id = regions[scope].id
        db.session.add(u)
        users[username] = u
    db.session.flush()

    villages_by_county = {
        county: [r for c, r in regions.items() if c.startswith(county) and r.level == "village"]
        for county, _ in PEOPLE_COUNTIES
    }
    today = local_today()
    seen = set()
    made = []
    for n in range(people):
        county = rng.choices([c for c, _ in PEOPLE_COUNTIES], [w for _, w in PEOPLE_COUNTIES])[0]
        village = rng.choice(villages_by_county[county])
        age = _age_weighted(rng)
        born = today - timedelta(days=age * 365 + rng.randrange(0, 365))
        sex = rng.choice("MF")
        # 凤翔区 people born before 2021 mostly carry the old 凤翔县 code 610322.
        area = "610322" if county == "610305" and rng.random() < 0.8 else county
        number = resident_id.synthesise(area, born, sex, rng)
        if number in seen:
            continue
        seen.add(number)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_M if sex == "M" else GIVEN_F)
        p = Person(
            name=name,
            phone=f"13{rng.randrange(0, 10)}{rng.randrange(10**7, 10**8)}",
            address=f"{village.name}{rng.randrange(1, 12)}组{rng.randrange(1, 60)}号",
            region_id=village.id,
            hukou_type="local",
            hukou_address=village.full_name,
            lives_alone=rng.random() < 0.12,
            empty_nest=rng.random() < 0.25,
            left_behind=rng.random() < 0.15,
            special_family=rng.random() < 0.02,
            economic_status=rng.choices([s.value for s in EconomicStatus], [80, 9, 2, 3, 6])[0],
        )
        p.id_number = number
        p.id_number_index = id_number_index(number)
        p.id_number_masked = resident_id.mask(number)
        p.birth_date, p.sex = born, sex
        if age > 85 and rng.random() < 0.04:
            p.death_date = today - timedelta(days=rng.randrange(1, 300))
        if rng.random() < 0.35:
            p.assessments.append(
                AbilityAssessment(
                    assessed_on=today - timedelta(days=rng.randrange(10, 700)),
                    level=rng.choices(
                        ["intact", "mild", "moderate", "severe", "total"], [50, 22, 14, 9, 5]
                    )[0],
                    assessor="县老年人能力评估中心",
                )
            )
        made.append(p)
        if n and n % 500 == 0:
            db.session.add_all(made)
            db.session.flush()
            made.clear()
    db.session.add_all(made)
    db.session.flush()

    # The demo family member is a verified child of a person in 马营东村.
    relative = db.session.scalar(
        sa.select(Person)
        .where(Person.region_id == regions["610302006201"].id, Person.death_date.is_(None))
        .order_by(Person.id)
        .limit(1)
    )
    if relative is not None:
        db.session.add(
            FamilyLink(
                user_id=users["family"].id,
                person_id=relative.id,
                relation="child",
                status=LinkStatus.VERIFIED.value,
                decided_by_id=users["township"].id,
            )
        )
    db.session.flush()
    beds, residents = load_beds(rng, regions)
    targets, visits = load_visits(rng, regions, users)
    members, attendance = load_daycare(rng, regions, users, facilities)
    from eldercare.ratings.operations import load_shipped_schemes

    load_shipped_schemes()
    from eldercare.devtools.demo.subsidies import load_demo as load_subsidies

    subsidies = load_subsidies(
        regions["610302000000"], users["township"], users["county"], users["checker"]
    )
    from eldercare.devtools.demo.bookings import load_demo as load_bookings

    bookings = load_bookings(users["admin"], users["family"])
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
    return (
        f"demo loaded: {len(regions)} regions, {len(FACILITIES)} facilities, "
        f"{len(USERS)} users (password {DEMO_PASSWORD}), {total} people, "
        f"{beds} beds, {residents} residents, {targets} people visited regularly "
        f"with {visits} visits, {members} day-care members with {attendance} attendances; "
        f"{subsidies}; {bookings}"
    )
