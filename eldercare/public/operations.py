"""Public vacancy search: which facilities have free beds, of what care type, at what price,
and which services they take bookings for.

Everything here is open to anonymous visitors, so it reads only facility, bed and service rows
and published grades (never stays, reservations' holders, bookings or people) and answers each
page with a fixed handful of set-based queries, whatever the number of facilities.

A bed is *free* when it is vacant, or reserved with a reservation that has already expired
(the scheduler ends those, but until it runs the bed is free to anyone asking). Occupied,
held (resident on leave), out-of-service and validly reserved beds are not free.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from eldercare.beds.models import Bed, CareType, free_bed
from eldercare.bookings.models import Service
from eldercare.core.db import UTCDateTime, local_date, utcnow
from eldercare.extensions import db
from eldercare.facilities.models import Facility, FacilityKind
from eldercare.ratings.grades import grades_on, in_force_on, last_day
from eldercare.ratings.models import Grade
from eldercare.regions.models import PREFIX_LENGTH, Level, Region

#: Kinds listed even before their beds are entered; other kinds appear once they have beds.
BED_KINDS = (FacilityKind.NURSING_HOME.value, FacilityKind.TOWNSHIP_HOME.value)


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
    #: The services it takes bookings for (active ones), by kind and name.
    services: list[Service] = field(default_factory=list)

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


def region_choices() -> list[sa.Row]:
    """Counties and townships anyone may search by (the platform's own city), in code order:
    rows of id, name and level (a city has some 200; no need to build records of them)."""
    return list(
        db.session.execute(
            sa.select(Region.id, Region.name, Region.level)
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


def _active_services():
    """SELECT of the active services of the facility of the enclosing query."""
    return sa.select(Service.id).where(Service.facility_id == Facility.id, Service.active.is_(True))


def search_facilities(args: dict, now: datetime | None = None) -> sa.Select:
    """Active facilities matching the filters (a SELECT to paginate): the bed kinds, any
    facility with beds, and any facility taking bookings for a service (day-care centers,
    home-care providers).

    Bed filters (care type, price range, "free only") mean: the facility has at least one
    free bed that meets all of them. The EXISTS probes use ``ix_bed_facility_status``.
    ``service`` (a service kind) means: it takes bookings for an active service of that kind.
    """
    now = now or utcnow()
    has_beds = sa.select(Bed.id).where(Bed.facility_id == Facility.id).exists()
    stmt = sa.select(Facility).where(
        Facility.active.is_(True),
        sa.or_(Facility.kind.in_(BED_KINDS), has_beds, _active_services().exists()),
    )
    if args.get("region_id"):
        region = db.session.get(Region, args["region_id"])
        if region is None:
            return stmt.where(sa.false())
        stmt = stmt.where(Facility.region_id.in_(Region.subtree_ids(region)))
    if args.get("kind"):
        stmt = stmt.where(Facility.kind == args["kind"])
    if args.get("service"):
        stmt = stmt.where(_active_services().where(Service.kind == args["service"]).exists())
    if args.get("star") or args.get("min_star"):
        graded = sa.select(Grade.id).where(
            Grade.facility_id == Facility.id, in_force_on(local_date(now))
        )
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


@functools.cache
def _statements() -> dict[str, sa.Select]:
    """The queries of ``vacancies``, built once: the page runs them on every search, and
    building them (subqueries, aliases, CASE) cost more than the database took to answer."""
    now = sa.bindparam("now", type_=UTCDateTime())
    ids = sa.bindparam("ids", expanding=True)
    free = free_bed(now)
    county, township = aliased(Region), aliased(Region)

    def above(level: Level) -> sa.ColumnElement:
        keep = PREFIX_LENGTH[level]
        return sa.func.substr(Region.code, 1, keep) + "0" * (12 - keep)

    return {
        "beds": sa.select(
            Bed.facility_id,
            Bed.care_type,
            sa.func.count(Bed.id),
            sa.func.sum(sa.case((free, 1), else_=0)),
            sa.func.min(sa.case((free, Bed.monthly_price_fen), else_=None)),
            sa.func.max(sa.case((free, Bed.monthly_price_fen), else_=None)),
        )
        .where(Bed.facility_id.in_(ids))
        .group_by(Bed.facility_id, Bed.care_type),
        "services": sa.select(Service)
        .where(Service.facility_id.in_(ids), Service.active.is_(True))
        .order_by(Service.kind, Service.name, Service.id),
        # Each region with the county and township its code falls in.
        "areas": sa.select(Region.id, Region.level, Region.name, county.name, township.name)
        .outerjoin(county, county.code == above(Level.COUNTY))
        .outerjoin(township, township.code == above(Level.TOWNSHIP))
        .where(Region.id.in_(ids)),
    }


def vacancies(facilities: list[Facility], now: datetime | None = None) -> list[FacilityVacancy]:
    """Beds and free beds by care type for these facilities: one GROUP BY query, plus one
    for the names of their areas, one for their grades in force today and one for their
    services."""
    now = now or utcnow()
    if not facilities:
        return []
    ids = [f.id for f in facilities]
    queries = _statements()
    rows = db.session.execute(queries["beds"], {"ids": ids, "now": now}).all()
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
    for service in db.session.scalars(queries["services"], {"ids": ids}):
        result[service.facility_id].services.append(service)
    return [result[i] for i in ids]


def area_names(facilities: list[Facility]) -> dict[int, str]:
    """Facility id -> "county township village" from the region codes, in one query: each
    facility's region with the county and township its code falls in."""
    if not facilities:
        return {}
    rows = db.session.execute(
        _statements()["areas"], {"ids": list({f.region_id for f in facilities})}
    ).all()
    names = {}
    for region_id, level, own, county_name, township_name in rows:
        depth = PREFIX_LENGTH[Level(level)]
        chain = [
            county_name if depth >= PREFIX_LENGTH[Level.COUNTY] else None,
            township_name if depth >= PREFIX_LENGTH[Level.TOWNSHIP] else None,
            own if depth >= PREFIX_LENGTH[Level.VILLAGE] else None,
        ]
        names[region_id] = " ".join(n for n in chain if n)
    return {f.id: names[f.region_id] for f in facilities if f.region_id in names}


def public_facility(facility_id: int) -> Facility | None:
    """An active facility anyone may look at (inactive ones are not public)."""
    return db.session.scalar(
        sa.select(Facility).where(Facility.id == facility_id, Facility.active.is_(True))
    )
