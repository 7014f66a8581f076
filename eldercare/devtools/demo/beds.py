"""The demo's beds: rooms and beds of every home, residents, earlier stays, reservations
and outages."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from eldercare.beds.models import (
    RISKS,
    Bed,
    BedStatus,
    CareType,
    DischargeReason,
    Outage,
    Reservation,
    RiskLevel,
    Room,
    Stay,
)
from eldercare.beds.operations import clean_risk_assessment
from eldercare.core.db import local_today, utcnow
from eldercare.devtools.demo.data import GIVEN_F, GIVEN_M, SURNAMES
from eldercare.extensions import db
from eldercare.facilities.models import Facility, FacilityKind
from eldercare.people.models import (
    Person,
)
from eldercare.regions.models import Region


def _past_stays(rng, bed, until, pool, opened, risks) -> None:
    """Up to two earlier residents who have left the bed before ``until``, so that the
    occupancy history (and its 12-month trend) looks like a real home's."""
    end = until - timedelta(days=rng.randint(3, 30))
    for _ in range(rng.randint(0, 2)):
        if not pool:
            return
        start = end - timedelta(days=rng.randint(30, 300))
        person = pool[-1]
        if start < max(opened, person.birth_date + timedelta(days=60 * 365)):
            return
        pool.pop()
        db.session.add(
            Stay(
                bed_id=bed.id,
                facility_id=bed.facility_id,
                person_id=person.id,
                admitted_on=start,
                discharged_on=end,
                discharge_reason=rng.choice(
                    [DischargeReason.HOME, DischargeReason.HOSPITAL, DischargeReason.TRANSFER_OUT]
                ).value,
                risk_assessment=risks,
            )
        )
        end = start - timedelta(days=rng.randint(5, 40))


def load_beds(rng: random.Random, regions: dict[str, Region]) -> tuple[int, int]:
    """Rooms and beds for every nursing and township home, about 70% of them occupied by
    living people of the same county, and a few reserved or out of service. The rows are
    written directly (as a migration of an existing ledger would), not through the
    operations: the demo has no acting operator and must stay fast."""
    today = local_today()
    now = utcnow()
    opened = now - timedelta(days=3 * 365)
    low_risks = clean_risk_assessment({key: RiskLevel.LOW.value for key in RISKS})
    code_of = {r.id: r.code for r in regions.values()}
    homes = db.session.scalars(
        sa.select(Facility)
        .where(Facility.kind.in_([FacilityKind.NURSING_HOME, FacilityKind.TOWNSHIP_HOME]))
        .order_by(Facility.id)
    ).all()
    living = db.session.execute(
        sa.select(Person.id, Person.region_id, Person.birth_date)
        .where(Person.death_date.is_(None))
        .order_by(Person.id)
    ).all()
    pools: dict[str, list] = {}
    for row in living:
        pools.setdefault(code_of[row.region_id][:6], []).append(row)
    for pool in pools.values():
        rng.shuffle(pool)
    codes: set[str] = set()
    beds = residents = 0
    for facility in homes:
        county = code_of[facility.region_id][:6]
        pool = pools.get(county, [])
        facility_beds = []
        for floor in range(1, rng.randint(2, 3) + 1):
            for r in range(1, rng.randint(3, 5) + 1):
                room = Room(
                    facility_id=facility.id,
                    floor=floor,
                    number=f"{floor}{r:02d}",
                    created_at=opened,
                )
                db.session.add(room)
                for label in range(1, rng.randint(2, 3) + 1):
                    code = f"{facility.id:05d}-{rng.getrandbits(40):010X}"
                    while code in codes:  # drawn again on the (rare) repeat
                        code = f"{facility.id:05d}-{rng.getrandbits(40):010X}"
                    codes.add(code)
                    care = rng.choices(
                        [CareType.NURSING, CareType.GENERAL, CareType.DEMENTIA], [55, 37, 8]
                    )[0]
                    price = rng.randrange(1800, 4501, 100) * 100
                    if care == CareType.NURSING:
                        price = max(price, 2600_00)
                    bed = Bed(
                        code=code,
                        facility_id=facility.id,
                        room=room,
                        label=str(label),
                        care_type=care.value,
                        monthly_price_fen=price,
                        status=BedStatus.VACANT.value,
                        created_at=opened,
                    )
                    db.session.add(bed)
                    facility_beds.append(bed)
        db.session.flush()
        beds += len(facility_beds)
        share = rng.uniform(0.6, 0.75)
        vacant = []
        for bed in facility_beds:
            if not pool or rng.random() >= share:
                vacant.append(bed)
                continue
            person = pool.pop()
            earliest = max(opened.date(), person.birth_date + timedelta(days=60 * 365))
            span = max((today - earliest).days, 1)
            admitted = earliest + timedelta(days=rng.randrange(span))
            db.session.add(
                Stay(
                    bed_id=bed.id,
                    facility_id=facility.id,
                    person_id=person.id,
                    admitted_on=admitted,
                    risk_assessment=low_risks,
                )
            )
            bed.status = BedStatus.OCCUPIED.value
            residents += 1
            _past_stays(rng, bed, admitted, pool, opened.date(), low_risks)
        for bed in vacant:
            _past_stays(
                rng,
                bed,
                today - timedelta(days=rng.randint(25, 90)),
                pool,
                opened.date(),
                low_risks,
            )
        # A few of the free beds are kept for someone, one is being repaired.
        rng.shuffle(vacant)
        for bed in vacant[: rng.randint(1, 2)]:
            db.session.add(
                Reservation(
                    bed_id=bed.id,
                    facility_id=facility.id,
                    holder_name=rng.choice(SURNAMES) + rng.choice(GIVEN_M + GIVEN_F),
                    expires_at=now + timedelta(days=rng.randint(2, 14)),
                )
            )
            bed.status = BedStatus.RESERVED.value
        if len(vacant) > 4:
            bed = vacant[-1]
            db.session.add(
                Outage(
                    bed_id=bed.id,
                    reason=rng.choice(["设施维修", "消毒隔离", "更换护理床"]),
                    start_on=today - timedelta(days=rng.randint(1, 20)),
                )
            )
            bed.status = BedStatus.OUT_OF_SERVICE.value
    db.session.flush()
    return beds, residents
