"""Set-based bed work for the operator API: a facility's filtered bed list, and the bulk
update of up to 1,000 beds, all or nothing, in a handful of queries."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload, with_expression

from eldercare.beds.models import (
    STATUS_LABELS,
    Bed,
    BedStatus,
    Outage,
    Reservation,
    Room,
    Stay,
    status_now,
)
from eldercare.beds.operations.rooms import price_refusal
from eldercare.beds.operations.state import refresh_status
from eldercare.core import audit
from eldercare.core.db import local_today, utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import operates, visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.regions.operations import county_settings_for

NOT_FOUND = _l("The page or record was not found.")


def search_beds(facility: Facility, user, args: dict) -> sa.Select:
    """The facility's beds the user may see, by floor, room and bed (rooms loaded with them),
    each with its status as of now (a run-out reservation: vacant, nothing written)."""
    shown = status_now(utcnow())
    stmt = (
        visible(Bed, user)
        .join(Room, Bed.room_id == Room.id)
        .where(Bed.facility_id == facility.id)
        .options(selectinload(Bed.room), with_expression(Bed.status_now, shown))
        .order_by(Room.floor, Room.building, Room.number, Bed.label, Bed.id)
    )
    if args.get("status"):
        stmt = stmt.where(shown == args["status"])
    if args.get("care_type"):
        stmt = stmt.where(Bed.care_type == args["care_type"])
    if args.get("floor") is not None:
        stmt = stmt.where(Room.floor == args["floor"])
    return stmt


def load_beds(bed_ids: list[int]) -> list[Bed]:
    """Beds with their rooms in two queries, in id order (e.g. to answer after a commit)."""
    return list(
        db.session.scalars(
            sa.select(Bed)
            .where(Bed.id.in_(bed_ids))
            .options(selectinload(Bed.room))
            .order_by(Bed.id)
        )
    )


class _State:
    """The open stays, outages and reservations of a set of beds, read in three queries."""

    def __init__(self, bed_ids: list[int]):
        self.stays = {
            s.bed_id: s
            for s in db.session.scalars(
                sa.select(Stay)
                .where(Stay.bed_id.in_(bed_ids), Stay.discharged_on.is_(None))
                .options(selectinload(Stay.leaves))
            )
        }
        self.outages = {
            o.bed_id: o
            for o in db.session.scalars(
                sa.select(Outage).where(Outage.bed_id.in_(bed_ids), Outage.end_on.is_(None))
            )
        }
        self.reservations = {
            r.bed_id: r
            for r in db.session.scalars(
                sa.select(Reservation).where(
                    Reservation.bed_id.in_(bed_ids), Reservation.ended_at.is_(None)
                )
            )
        }

    def status(self, bed: Bed, now, *, ignore_outage: bool = False) -> BedStatus:
        """What ``refresh_status`` would derive; an expired reservation is ended by it."""
        if not ignore_outage and bed.id in self.outages:
            return BedStatus.OUT_OF_SERVICE
        stay = self.stays.get(bed.id)
        if stay is not None:
            return BedStatus.HELD if stay.current_leave is not None else BedStatus.OCCUPIED
        reservation = self.reservations.get(bed.id)
        if reservation is not None and reservation.expires_at <= now:
            refresh_status(bed, now)  # rare: ends it, with its audit entry
            del self.reservations[bed.id]
            reservation = None
        return BedStatus.RESERVED if reservation is not None else BedStatus.VACANT


def _county_settings(facility_ids: set[int]) -> dict:
    """The county settings in force for each facility (one lookup per facility)."""
    facilities = db.session.scalars(
        sa.select(Facility)
        .where(Facility.id.in_(facility_ids))
        .options(selectinload(Facility.region))
    )
    return {f.id: county_settings_for(f.region) for f in facilities}


def bulk_update(items: list[dict], by) -> list[Bed]:
    """Apply every item (validated by ``BulkItemSchema``) or none.

    The beds are locked in one ``SELECT ... FOR UPDATE`` in id order (two bulk requests over
    the same beds wait for each other instead of deadlocking); their state is read in three
    more queries. Every item is checked before anything changes: unknown or out-of-scope beds
    and impossible dates answer 422, state conflicts 409, each keyed by the item's index.
    """
    bed_ids = sorted({item["bed_id"] for item in items})
    beds = {
        bed.id: bed
        for bed in db.session.scalars(
            visible(Bed, by)
            .where(Bed.id.in_(bed_ids))
            .order_by(Bed.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    if any(not operates(by, bed.facility_id) for bed in beds.values()):
        raise AppError(403, _l("Only the facility's own staff can change its beds."))
    state = _State([i["bed_id"] for i in items if "status" in i and i["bed_id"] in beds])
    now, today = utcnow(), local_today()
    settings = _county_settings({bed.facility_id for bed in beds.values()})

    invalid: dict[int, dict] = {}
    conflicts: dict[int, dict] = {}
    for index, item in enumerate(items):
        bed = beds.get(item["bed_id"])
        if bed is None:
            invalid[index] = {"bed_id": [NOT_FOUND]}
            continue
        price = item.get("monthly_price_fen", bed.monthly_price_fen)
        if price != bed.monthly_price_fen:
            refusal = price_refusal(settings[bed.facility_id], price)
            if refusal is not None:
                invalid[index] = {"monthly_price": [refusal]}
                continue
        status = item.get("status")
        if status == "out_of_service":
            current = state.status(bed, now)
            if current != BedStatus.VACANT:
                conflicts[index] = {
                    "status": [
                        _l(
                            "Only a free bed can be taken out of service (it is %(status)s).",
                            status=STATUS_LABELS[current],
                        )
                    ]
                }
        elif status == "in_service":
            outage = state.outages.get(bed.id)
            if outage is None:
                conflicts[index] = {"status": [_l("This bed is in service.")]}
            elif item.get("on", today) < outage.start_on:
                invalid[index] = {"on": [_l("The date is before the bed was taken out.")]}
    if invalid:
        raise Invalid(errors={"items": {**conflicts, **invalid}})
    if conflicts:
        raise Conflict(errors={"items": conflicts})

    updated, taken_out, returned = {}, defaultdict(list), []
    for item in items:
        bed = beds[item["bed_id"]]
        before = {"care_type": bed.care_type, "monthly_price_fen": bed.monthly_price_fen}
        for key in before:
            if key in item:
                setattr(bed, key, item[key])
        changes = audit.changes_between(before, {k: getattr(bed, k) for k in before})
        if changes:
            updated[bed.id] = changes
        on: date = item.get("on", today)
        if item.get("status") == "out_of_service":
            db.session.add(Outage(bed_id=bed.id, reason=item["reason"], start_on=on))
            bed.status = BedStatus.OUT_OF_SERVICE.value
            taken_out[item["reason"]].append((bed, on))
        elif item.get("status") == "in_service":
            state.outages[bed.id].end_on = on
            bed.status = state.status(bed, now, ignore_outage=True).value
            returned.append((bed, on))
    db.session.flush()

    audit.record_many(
        "bed.updated",
        [beds[i] for i in updated],
        actor=by,
        changes=lambda bed: updated[bed.id],
    )
    for reason, pairs in taken_out.items():
        starts = {bed.id: on for bed, on in pairs}
        audit.record_many(
            "bed.out_of_service",
            [bed for bed, _ in pairs],
            actor=by,
            changes=lambda bed, starts=starts: {"start_on": [None, starts[bed.id].isoformat()]},
            note=reason,
        )
    ends = {bed.id: on for bed, on in returned}
    audit.record_many(
        "bed.back_in_service",
        [bed for bed, _ in returned],
        actor=by,
        changes=lambda bed: {"end_on": [None, ends[bed.id].isoformat()]},
    )
    return [beds[bed_id] for bed_id in bed_ids]
