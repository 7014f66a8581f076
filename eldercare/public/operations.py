"""Public vacancy search: which facilities have free beds, of what care type, at what price.

Everything here is open to anonymous visitors, so it reads only facility and bed rows and
published grades (never stays, reservations' holders or people) and answers each page with a
fixed handful of set-based queries, whatever the number of facilities.

A bed is *free* when it is vacant, or reserved with a reservation that has already expired
(the scheduler ends those, but until it runs the bed is free to anyone asking). Occupied,
held (resident on leave), out-of-service and validly reserved beds are not free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from eldercare.beds.models import Bed, BedStatus, CareType, Reservation
from eldercare.core.db import local_date, utcnow
from eldercare.extensions import db
from eldercare.facilities.models import Facility, FacilityKind
from eldercare.ratings.grades import grades_on, in_force_on, last_day
from eldercare.ratings.models import Grade
from eldercare.regions.models import PREFIX_LENGTH, Level, Region

#: Kinds listed even before their beds are entered; other kinds appear once they have beds.
BED_KINDS = (FacilityKind.NURSING_HOME.value, FacilityKind.TOWNSHIP_HOME.value)


def free_bed(now: datetime):
    """SQL condition on ``Bed``: free to admit someone now."""
    expired = (
        sa.select(Reservation.id)
        .where(
            Reservation.bed_id == Bed.id,
            Reservation.ended_at.is_(None),
            Reservation.expires_at <= now,
        )
        .exists()
    )
    return sa.or_(
        Bed.status == BedStatus.VACANT.value,
        sa.and_(Bed.status == BedStatus.RESERVED.value, expired),
    )


@dataclass
class CareTypeVacancy:
    care_type: str
    total: int = 0
    free: int = 0
    min_price_fen: int | None = None
    max_price_fen: int | None = None


@dataclass
class FacilityVacancy:
    facility: Facility
    area: str
    by_care_type: dict[str, CareTypeVacancy] = field(default_factory=dict)
    #: The published grade in force today, if any.
    grade: Grade | None = None

    @property
    def free(self) -> int:
        return sum(v.free for v in self.by_care_type.values())

    @property
    def total(self) -> int:
        return sum(v.total for v in self.by_care_type.values())

    @property
    def price_range(self) -> tuple[int, int] | None:
        """Lowest and highest monthly price (fen) of the free beds, or None."""
        prices = [
            p
            for v in self.by_care_type.values()
            for p in (v.min_price_fen, v.max_price_fen)
            if p is not None
        ]
        return (min(prices), max(prices)) if prices else None

    @property
    def star_level(self) -> int | None:
        """Stars of the grade in force today; None: not rated (未评级)."""
        return self.grade.level if self.grade else None

    @property
    def valid_until(self) -> date | None:
        """The last day the grade in force is valid."""
        return last_day(self.grade) if self.grade else None


def region_choices() -> list[Region]:
    """Counties and townships anyone may search by (the platform's own city), in code order."""
    return list(
        db.session.scalars(
            sa.select(Region)
            .where(
                Region.level.in_((Level.COUNTY.value, Level.TOWNSHIP.value)),
                Region.abolished_on.is_(None),
            )
            .order_by(Region.code)
        )
    )


def _bed_filters(args: dict, now: datetime) -> list:
    conditions = []
    if args.get("care_type"):
        conditions.append(Bed.care_type == args["care_type"])
    if args.get("min_price") is not None:
        conditions.append(Bed.monthly_price_fen >= args["min_price"] * 100)
    if args.get("max_price") is not None:
        conditions.append(Bed.monthly_price_fen <= args["max_price"] * 100)
    if conditions or args.get("free_only"):
        conditions.append(free_bed(now))
    return conditions


def search_facilities(args: dict, now: datetime | None = None) -> sa.Select:
    """Active facilities matching the filters (a SELECT to paginate).

    Bed filters (care type, price range, "free only") mean: the facility has at least one
    free bed that meets all of them. The EXISTS probes use ``ix_bed_facility_status``.
    """
    now = now or utcnow()
    has_beds = sa.select(Bed.id).where(Bed.facility_id == Facility.id).exists()
    stmt = sa.select(Facility).where(
        Facility.active.is_(True), sa.or_(Facility.kind.in_(BED_KINDS), has_beds)
    )
    if args.get("region_id"):
        region = db.session.get(Region, args["region_id"])
        if region is None:
            return stmt.where(sa.false())
        stmt = stmt.where(Facility.region_id.in_(Region.subtree_ids(region)))
    if args.get("kind"):
        stmt = stmt.where(Facility.kind == args["kind"])
    today = local_date(now)
    graded = sa.select(Grade.id).where(Grade.facility_id == Facility.id, in_force_on(today))
    if args.get("star") == "unrated":
        stmt = stmt.where(~graded.exists())
    elif args.get("star"):
        stmt = stmt.where(graded.where(Grade.level == int(args["star"])).exists())
    if args.get("min_star"):
        stmt = stmt.where(graded.where(Grade.level >= args["min_star"]).exists())
    bed_conditions = _bed_filters(args, now)
    if bed_conditions:
        stmt = stmt.where(
            sa.select(Bed.id).where(Bed.facility_id == Facility.id, *bed_conditions).exists()
        )
    return stmt.order_by(Facility.name, Facility.id)


def vacancies(facilities: list[Facility], now: datetime | None = None) -> list[FacilityVacancy]:
    """Beds and free beds by care type for these facilities: one GROUP BY query, plus one
    for the names of their areas and one for their grades in force today."""
    now = now or utcnow()
    if not facilities:
        return []
    ids = [f.id for f in facilities]
    is_free = sa.case((free_bed(now), 1), else_=0)
    free_price = sa.case((free_bed(now), Bed.monthly_price_fen), else_=None)
    rows = db.session.execute(
        sa.select(
            Bed.facility_id,
            Bed.care_type,
            sa.func.count(Bed.id),
            sa.func.sum(is_free),
            sa.func.min(free_price),
            sa.func.max(free_price),
        )
        .where(Bed.facility_id.in_(ids))
        .group_by(Bed.facility_id, Bed.care_type)
    ).all()
    areas = area_names(facilities)
    grades = grades_on(ids, local_date(now))
    result = {
        f.id: FacilityVacancy(f, areas.get(f.id, ""), grade=grades.get(f.id)) for f in facilities
    }
    order = [c.value for c in CareType]
    for facility_id, care_type, total, free, low, high in sorted(
        rows, key=lambda r: order.index(r[1])
    ):
        result[facility_id].by_care_type[care_type] = CareTypeVacancy(
            care_type, int(total), int(free or 0), low, high
        )
    return [result[i] for i in ids]


def area_names(facilities: list[Facility]) -> dict[int, str]:
    """Facility id -> "county township village" from the region codes, in one query."""
    codes_of = {}
    wanted: set[str] = set()
    regions = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Region).where(Region.id.in_({f.region_id for f in facilities}))
        )
    }
    for f in facilities:
        region = regions.get(f.region_id)
        if region is None:
            continue
        chain = []
        for level in (Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE):
            keep = PREFIX_LENGTH[level]
            if len(region.prefix) >= keep:
                chain.append(region.code[:keep].ljust(12, "0"))
        codes_of[f.id] = chain
        wanted.update(chain)
    names = (
        dict(
            db.session.execute(sa.select(Region.code, Region.name).where(Region.code.in_(wanted)))
            .tuples()
            .all()
        )
        if wanted
        else {}
    )
    return {fid: " ".join(names[c] for c in chain if c in names) for fid, chain in codes_of.items()}


def public_facility(facility_id: int) -> Facility | None:
    """An active facility anyone may look at (inactive ones are not public)."""
    return db.session.scalar(
        sa.select(Facility).where(Facility.id == facility_id, Facility.active.is_(True))
    )
