"""What the lifecycle modules of the ratings operations share: the county-staff check, the locks
of a round and of an application, the audit entry of an application, an item's key."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from eldercare.core import audit
from eldercare.core.errors import AppError
from eldercare.core.permissions import Role, is_county_staff_of, role_of
from eldercare.extensions import db
from eldercare.ratings.models import Application, Item, Round
from eldercare.regions.models import Region


def require_county_staff(by, county: Region) -> None:
    role = role_of(by)
    if role == Role.ADMIN:
        return
    if role != Role.COUNTY_STAFF or by.region is None or not by.region.contains(county):
        raise AppError(403, _l("You do not have permission to do this."))


def lock_round(rnd: Round) -> Round:
    """Serialise what depends on the round's set of applications (adding one, closing)."""
    db.session.execute(sa.select(Round.id).where(Round.id == rnd.id).with_for_update())
    db.session.refresh(rnd)
    return rnd


def lock_application(application: Application) -> Application:
    """Serialise changes to one application (two assessors handing in, two committee
    members deciding, a publish racing the scheduled job)."""
    db.session.execute(
        sa.select(Application.id).where(Application.id == application.id).with_for_update()
    )
    db.session.refresh(application)
    return application


def audit_application(action: str, application: Application, by, record=None, **entry) -> None:
    """An entry placed in the application's county and facility; ``record`` is the row it is
    about when that is not the application itself (an evidence file)."""
    audit.record(
        action,
        application if record is None else record,
        actor=by,
        region_id=application.round.region_id,
        facility_id=application.facility_id,
        **entry,
    )


def value_key(item: Item) -> str:
    return f"{item.section.code}/{item.code}"


def can_manage_round(user, rnd: Round) -> bool:
    return is_county_staff_of(user, rnd.region)
