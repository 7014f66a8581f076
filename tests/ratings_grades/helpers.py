"""Builders for published grades: a shipped scheme, a county's round, a grade row."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Grade, Round, Scheme
from tests.builders import build_region

_rounds = itertools.count(1)


def shipped_scheme(kind: str = "nursing_home") -> Scheme:
    ops.load_shipped_schemes()
    return db.session.scalar(
        sa.select(Scheme).where(Scheme.region_id.is_(None), Scheme.kind == kind).limit(1)
    )


def county_of(facility: Facility):
    return build_region(facility.region.code[:6] + "000000")


def build_round(county, year: int, name: str | None = None) -> Round:
    found = Round(
        region_id=county.id,
        year=year,
        name=name or f"{year}年度养老机构等级评定（{next(_rounds)}）",
        scheme_id=shipped_scheme().id,
    )
    db.session.add(found)
    db.session.flush()
    return found


def plus_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February: 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def build_grade(
    facility: Facility,
    level: int,
    valid_from: date,
    valid_until: date | None = None,
    *,
    total: str = "820.5",
    round_name: str | None = None,
    round_: Round | None = None,
) -> Grade:
    """A published grade, three years long unless ``valid_until`` says otherwise; in
    ``round_``, or in a round of its own (a facility has one grade per round)."""
    found = round_ or build_round(county_of(facility), valid_from.year, round_name)
    grade = Grade(
        facility_id=facility.id,
        level=level,
        valid_from=valid_from,
        valid_until=valid_until or plus_years(valid_from, 3),
        round_id=found.id,
        scheme_id=found.scheme_id,
        total=Decimal(total),
    )
    db.session.add(grade)
    db.session.flush()
    return grade
