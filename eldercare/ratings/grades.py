"""Published grades as the rest of the platform reads them: the grade in force on a day, a
facility's grade history, and how a star level is written.

A grade is in force on day D when ``valid_from <= D < valid_until`` (``valid_until`` is the
first day it no longer holds). When two grades of a facility overlap (a facility re-rated
before its grade ran out), the one with the later ``valid_from`` wins; on the same day, the
later published (higher id)."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings.models import Grade

STAR = "★"


def in_force_on(day: date, grade=Grade) -> sa.ColumnElement[bool]:
    """SQL condition on ``grade`` (the model or an alias): it is its facility's grade in
    force on ``day``: valid that day, and no other grade valid that day supersedes it."""
    newer = aliased(Grade)
    superseded = (
        sa.select(newer.id)
        .where(
            newer.facility_id == grade.facility_id,
            newer.valid_from <= day,
            newer.valid_until > day,
            sa.or_(
                newer.valid_from > grade.valid_from,
                sa.and_(newer.valid_from == grade.valid_from, newer.id > grade.id),
            ),
        )
        .correlate_except(newer)
        .exists()
    )
    return sa.and_(grade.valid_from <= day, grade.valid_until > day, ~superseded)


@functools.cache
def _in_force_for_ids() -> sa.Select:
    """``grades_on`` for a list of ids, built once (every public search page asks it)."""
    return sa.select(Grade).where(
        Grade.facility_id.in_(sa.bindparam("ids", expanding=True)),
        in_force_on(sa.bindparam("day", type_=sa.Date())),
    )


def grades_on(facility_ids: sa.Select | list[int], day: date) -> dict[int, Grade]:
    """Facility id -> its grade in force on ``day``, for the facilities given as ids or as a
    SELECT of ids; facilities without one are left out. One query."""
    if isinstance(facility_ids, list | tuple | set | frozenset):
        if not facility_ids:
            return {}
        found = db.session.scalars(_in_force_for_ids(), {"ids": list(facility_ids), "day": day})
    else:
        found = db.session.scalars(
            sa.select(Grade).where(Grade.facility_id.in_(facility_ids), in_force_on(day))
        )
    return {grade.facility_id: grade for grade in found}


def history(facility: Facility) -> list[Grade]:
    """Every grade the facility was published, newest first, with its round."""
    return list(
        db.session.scalars(
            sa.select(Grade)
            .where(Grade.facility_id == facility.id)
            .options(joinedload(Grade.round))
            .order_by(Grade.valid_from.desc(), Grade.id.desc())
        )
    )


def last_day(grade: Grade) -> date:
    """The last day the grade is in force (``valid_until`` is the first day it is not): the
    date shown as "valid until"."""
    return grade.valid_until - timedelta(days=1)


def star_label(level: int | None) -> str:
    """★★★ for three stars; "Not rated" (translated) without a level."""
    if not level:
        return _("Not rated")
    return STAR * level
