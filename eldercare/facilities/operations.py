"""Create and update facilities, inside the acting user's region."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.core import audit
from eldercare.core.errors import Conflict, Invalid
from eldercare.core.permissions import Role, is_visible, operates, role_of, visible
from eldercare.extensions import db
from eldercare.facilities import signals
from eldercare.facilities.models import Facility
from eldercare.regions.models import Region

FIELDS = (
    "name",
    "kind",
    "ownership",
    "region_id",
    "address",
    "latitude",
    "longitude",
    "licence_no",
    "contact_name",
    "contact_phone",
    "description",
    "active",
)


#: What only the registry (county staff, admins) changes: an operator may not move its
#: facility, change its kind or switch it off.
REGISTRY_FIELDS = ("region_id", "kind", "ownership", "active", "licence_no")


def registry_fields_locked(user) -> bool:
    """Whether ``user`` edits a facility without its REGISTRY_FIELDS (an operator does)."""
    return role_of(user) == Role.OPERATOR


def can_edit(user, facility: Facility | None = None) -> bool:
    """County staff and admins edit the registry; operators keep their own facility's details."""
    if role_of(user) in (Role.ADMIN, Role.COUNTY_STAFF):
        return True
    return facility is not None and operates(user, facility)


def _region_in_scope(region_id: int, user) -> Region:
    region = db.session.get(Region, region_id)
    if region is None or region.level not in ("county", "township", "village"):
        raise Invalid(errors={"region_id": [_l("Choose a county, township or village.")]})
    if user.region is not None and not user.region.contains(region):
        raise Invalid(errors={"region_id": [_l("This region is outside your area.")]})
    return region


def snapshot(f: Facility) -> dict:
    return {k: getattr(f, k) for k in FIELDS}


def create_facility(data: dict, by) -> Facility:
    _region_in_scope(data["region_id"], by)
    facility = Facility(**{k: data.get(k) for k in FIELDS if k in data})
    db.session.add(facility)
    db.session.flush()
    audit.record(
        "facility.created",
        facility,
        actor=by,
        facility_id=facility.id,
        changes=audit.changes_between({}, snapshot(facility)),
    )
    return facility


def _lock(facility_id: int, *, share: bool) -> Facility:
    """The facility row, read fresh and locked: shared by what adds to a facility (an
    admission, a member, a booking), exclusive for switching it off, so that neither runs
    on a picture the other is about to change. (SQLite locks the whole database instead.)"""
    stmt = (
        sa.select(Facility)
        .where(Facility.id == facility_id)
        .with_for_update(read=share, key_share=share)
    )
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def require_operating(facility_id: int, refusal=None) -> Facility:
    """The facility, locked against being switched off meanwhile; Conflict if it no longer
    operates: a facility switched off takes no new resident, member or booking."""
    facility = _lock(facility_id, share=True)
    if not facility.active:
        raise Conflict(
            refusal
            or _l(
                "%(name)s is no longer operating: it takes no new residents, members or "
                "bookings. Ask the civil-affairs bureau if this is wrong.",
                name=facility.name,
            )
        )
    return facility


def closing_refusals(facility: Facility) -> list:
    """Why ``facility`` cannot be switched off now: each feature's open business there."""
    reasons = []
    for _receiver, answer in signals.closing_refusals.send(facility):
        reasons.extend(answer or ())
    return reasons


def _check_can_close(facility: Facility) -> None:
    reasons = closing_refusals(_lock(facility.id, share=False))
    if reasons:
        raise Conflict(
            _l(
                "%(name)s cannot stop operating yet: what must be done first is listed under "
                "“Operating”.",
                name=facility.name,
            ),
            errors={"active": reasons},
        )


def update_facility(facility: Facility, data: dict, by) -> Facility:
    before = snapshot(facility)
    if registry_fields_locked(by):
        for locked in REGISTRY_FIELDS:
            data[locked] = getattr(facility, locked)
    else:
        _region_in_scope(data["region_id"], by)
    if before["active"] and "active" in data and not data["active"]:
        _check_can_close(facility)
    for key in FIELDS:
        if key in data:
            setattr(facility, key, data[key])
    db.session.flush()
    audit.record(
        "facility.updated",
        facility,
        actor=by,
        facility_id=facility.id,
        changes=audit.changes_between(before, snapshot(facility)),
    )
    return facility


def search_facilities(user, args: dict) -> sa.Select:
    stmt = visible(Facility, user).order_by(Facility.name, Facility.id)
    if args.get("q"):
        stmt = stmt.where(Facility.name.icontains(args["q"], autoescape=True))
    if args.get("kind"):
        stmt = stmt.where(Facility.kind == args["kind"])
    if args.get("region_id"):
        region = db.session.get(Region, args["region_id"])
        if region is None or not is_visible(region, user):
            return stmt.where(sa.false())
        stmt = stmt.where(Facility.region_id.in_(Region.subtree_ids(region)))
    return stmt


def facility_list(user, args: dict) -> sa.Select:
    """The facility list page's query: ``search_facilities`` with each facility's area."""
    return search_facilities(user, args).options(selectinload(Facility.region))


def regions_for_choice(user) -> list[Region]:
    """Every level a facility may be placed at: rural happiness homes belong to a village."""
    stmt = (
        sa.select(Region)
        .where(Region.level.in_(["county", "township", "village"]), Region.abolished_on.is_(None))
        .order_by(Region.code)
    )
    if user.region is not None:
        stmt = stmt.where(Region.id.in_(Region.subtree_ids(user.region)))
    return list(db.session.scalars(stmt))
