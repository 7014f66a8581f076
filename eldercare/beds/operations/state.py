"""The state of a bed: its open stay, reservation and outage, the status derived from them,
and the lock every change of a bed takes first (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite writers are serialised by BEGIN IMMEDIATE)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import with_expression

from eldercare.beds.models import (
    Bed,
    BedStatus,
    Outage,
    Reservation,
    Stay,
    status_now,
)
from eldercare.beds.schemas import event_day_refusal
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import operates
from eldercare.extensions import db


def _require_operator(user, facility_id: int) -> None:
    if not operates(user, facility_id):
        raise AppError(403, _l("Only the facility's own staff can change its beds."))


def _not_future(day: date, field: str) -> None:
    """The schemas' date bounds, held here too for callers that skip a schema (jobs, other
    features)."""
    refusal = event_day_refusal(day)
    if refusal is not None:
        raise Invalid(errors={field: [refusal]})


def lock_bed(bed_id: int) -> Bed:
    """The bed row, locked for this transaction and read fresh from the database."""
    stmt = sa.select(Bed).where(Bed.id == bed_id).with_for_update()
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def _check_history_free(bed_id: int, person_id: int | None, on: date) -> None:
    """A back-dated stay must not overlap an earlier stay of the bed (or of the person), nor a
    period when the bed was out of service."""
    who = (
        Stay.bed_id == bed_id
        if person_id is None
        else sa.or_(Stay.bed_id == bed_id, Stay.person_id == person_id)
    )
    overlap = db.session.scalar(
        sa.select(Stay.id)
        .where(who, sa.or_(Stay.discharged_on.is_(None), Stay.discharged_on > on))
        .limit(1)
    )
    if overlap is not None:
        raise Conflict(_l("This bed or this person already has a stay on that date."))
    outage = db.session.scalar(
        sa.select(Outage.id)
        .where(Outage.bed_id == bed_id, sa.or_(Outage.end_on.is_(None), Outage.end_on > on))
        .limit(1)
    )
    if outage is not None:
        raise Conflict(_l("The bed was out of service on that date."))


# --- the state of a bed ------------------------------------------------------------------


def open_stay(bed_id: int) -> Stay | None:
    return db.session.scalar(
        sa.select(Stay).where(Stay.bed_id == bed_id, Stay.discharged_on.is_(None))
    )


def open_reservation(bed_id: int) -> Reservation | None:
    return db.session.scalar(
        sa.select(Reservation).where(Reservation.bed_id == bed_id, Reservation.ended_at.is_(None))
    )


def open_outage(bed_id: int) -> Outage | None:
    return db.session.scalar(
        sa.select(Outage).where(Outage.bed_id == bed_id, Outage.end_on.is_(None))
    )


def _expire_if_due(reservation: Reservation | None, now: datetime) -> Reservation | None:
    if reservation is not None and reservation.expires_at <= now:
        reservation.ended_at = reservation.expires_at  # when it ran out, not when noticed
        reservation.end_reason = "expired"
        audit.record(
            "bed.reservation_expired",
            reservation.bed,
            actor=None,
            facility_id=reservation.facility_id,
            note=reservation.holder_name,
        )
        return None
    return reservation


def refresh_status(bed: Bed, now: datetime | None = None) -> str:
    """Derive the bed's status from its rows (an expired reservation is ended on the way)."""
    now = now or utcnow()
    stay = open_stay(bed.id)
    if open_outage(bed.id) is not None:
        status = BedStatus.OUT_OF_SERVICE
    elif stay is not None:
        status = BedStatus.HELD if stay.current_leave is not None else BedStatus.OCCUPIED
    elif _expire_if_due(open_reservation(bed.id), now) is not None:
        status = BedStatus.RESERVED
    else:
        status = BedStatus.VACANT
    bed.status = status.value
    db.session.flush()
    return bed.status


def expire_reservations(now: datetime | None = None, facility_id: int | None = None) -> int:
    """Free every bed whose reservation has run out, everywhere or in one facility: the work
    of the scheduled job (``beds.tasks``) and of ``flask beds expire-reservations``. Pages
    never call it: they show such a bed free (``status_now``) and write nothing."""
    now = now or utcnow()
    stmt = sa.select(Reservation.bed_id).where(
        Reservation.ended_at.is_(None), Reservation.expires_at <= now
    )
    if facility_id is not None:
        stmt = stmt.where(Reservation.facility_id == facility_id)
    bed_ids = db.session.scalars(stmt.order_by(Reservation.bed_id)).all()
    for bed_id in bed_ids:
        refresh_status(lock_bed(bed_id), now)
    return len(bed_ids)


# --- what a page shows, without writing --------------------------------------------------------


def current_reservation(bed_id: int, now: datetime | None = None) -> Reservation | None:
    """The bed's open reservation, unless it has run out (the bed shows free meanwhile)."""
    reservation = open_reservation(bed_id)
    if reservation is not None and reservation.expires_at <= (now or utcnow()):
        return None
    return reservation


def bed_now(bed: Bed, now: datetime | None = None) -> Bed:
    """The bed read again with its status as of now (``Bed.shown_status``)."""
    return db.session.execute(
        sa.select(Bed)
        .where(Bed.id == bed.id)
        .options(with_expression(Bed.status_now, status_now(now or utcnow())))
        .execution_options(populate_existing=True)
    ).scalar_one()
