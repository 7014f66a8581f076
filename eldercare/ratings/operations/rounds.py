"""Rating rounds: a county opens one with a scheme, facilities join it, assessors are
appointed; an application may be withdrawn until the committee decides; the round closes
once every application in it is finished."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.auth.models import User
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.permissions import Role, is_visible, role_of, visible
from eldercare.extensions import db
from eldercare.facilities.models import Facility
from eldercare.ratings.models import (
    FACILITY_KINDS,
    FINISHED,
    Application,
    ApplicationStatus,
    Round,
    RoundStatus,
    Scheme,
    SchemeKind,
)
from eldercare.ratings.operations.common import (
    audit_application,
    can_manage_round,
    lock_application,
    lock_round,
    require_county_staff,
)
from eldercare.ratings.operations.schemes import freeze
from eldercare.regions.models import Region


def open_round(county: Region, data: dict, by) -> Round:
    """A county opens a round with a scheme; the scheme is frozen from now on."""
    require_county_staff(by, county)
    scheme = db.session.get(Scheme, data["scheme_id"])
    if (
        scheme is None
        or not is_visible(scheme, by)
        or (scheme.region_id is not None and scheme.region_id != county.id)
    ):
        raise Invalid(
            errors={"scheme_id": [_l("Choose a scheme of your county or a shipped one.")]}
        )
    rnd = Round(
        region_id=county.id,
        year=data["year"],
        name=data["name"],
        scheme_id=scheme.id,
        notice_days=data["notice_days"],
        issuing_office=data.get("issuing_office", ""),
        supervision_phone=data.get("supervision_phone", ""),
        opened_by_id=by.id,
    )
    db.session.add(rnd)
    freeze(scheme)
    db.session.flush()
    audit.record(
        "rating_round.opened",
        rnd,
        actor=by,
        region_id=county.id,
        changes={"year": [None, rnd.year], "scheme": [None, f"{scheme.code} v{scheme.version}"]},
    )
    return rnd


def update_notice_details(rnd: Round, data: dict, by) -> Round:
    """The issuing office and supervision phone printed on the round's public notices."""
    require_county_staff(by, rnd.region)
    before = {k: getattr(rnd, k) for k in ("issuing_office", "supervision_phone")}
    rnd.issuing_office = data["issuing_office"]
    rnd.supervision_phone = data["supervision_phone"]
    db.session.flush()
    audit.record(
        "rating_round.notice_details_changed",
        rnd,
        actor=by,
        region_id=rnd.region_id,
        changes=audit.changes_between(before, {k: getattr(rnd, k) for k in before}),
    )
    return rnd


def add_application(rnd: Round, facility: Facility, by) -> Application:
    """A facility that applied joins the round (its kind must be the scheme's)."""
    require_county_staff(by, rnd.region)
    lock_round(rnd)
    if not rnd.region.contains(facility.region):
        raise Invalid(errors={"facility_id": [_l("Choose a facility of the county.")]})
    if facility.kind not in FACILITY_KINDS[SchemeKind(rnd.scheme.kind)]:
        raise Invalid(
            errors={"facility_id": [_l("This scheme does not rate this kind of facility.")]}
        )
    if rnd.status != RoundStatus.OPEN.value:
        raise Conflict(_l("This round is closed."))
    exists = db.session.scalar(
        sa.select(Application.id).where(
            Application.round_id == rnd.id, Application.facility_id == facility.id
        )
    )
    if exists is not None:
        raise Conflict(_l("This facility is already in the round."))
    application = Application(
        round_id=rnd.id, facility_id=facility.id, round=rnd, facility=facility
    )
    db.session.add(application)
    db.session.flush()
    audit_application("rating_application.added", application, by)
    return application


#: Who may be appointed to score a facility (of the round's county).
ASSESSOR_ROLES = frozenset({Role.COUNTY_STAFF, Role.ASSESSOR})


NOT_AN_ASSESSOR = _l("Choose a member of the county's staff or an external assessor of the county.")


def appoint_assessor(application: Application, assessor: User, by) -> None:
    """County staff or external assessors of the round's county score the facility; never
    an operator, and never someone of the facility itself."""
    require_county_staff(by, application.round.region)
    county = application.round.region
    if (
        role_of(assessor) not in ASSESSOR_ROLES
        or assessor.region is None
        or not county.contains(assessor.region)
    ):
        raise Invalid(errors={"user_id": [NOT_AN_ASSESSOR]})
    if assessor in application.assessors:
        raise Conflict(_l("Already an assessor of this facility."))
    if not application.is_being_assessed:
        raise Conflict(_l("The assessment of this facility is already over."))
    application.assessors.append(assessor)
    db.session.flush()
    audit_application(
        "rating_application.assessor_appointed",
        application,
        by,
        changes={"assessor": [None, assessor.username]},
    )


def may_withdraw(user, application: Application) -> bool:
    """The facility's own operators, or county staff of the round's county (on its behalf)."""
    role = role_of(user)
    if role == Role.OPERATOR:
        return user.facility_id == application.facility_id
    return can_manage_round(user, application.round)


def withdraw(application: Application, reason: str, by) -> Application:
    """Withdraw an application the committee has not decided yet, with the reason; from
    then on it counts nowhere (no scores, no decision, no grade; the round may close)."""
    if not may_withdraw(by, application):
        raise AppError(403, _l("You do not have permission to do this."))
    lock_application(application)
    if not application.is_undecided:
        raise Conflict(_l("Only an application the committee has not decided on can be withdrawn."))
    before = application.status
    application.status = ApplicationStatus.WITHDRAWN.value
    application.withdrawn_at = utcnow()
    application.withdrawn_by_id = by.id
    application.withdraw_reason = reason
    db.session.flush()
    audit_application(
        "rating_application.withdrawn",
        application,
        by,
        changes={"status": [before, application.status]},
        note=reason[:255],
    )
    return application


def unfinished_in(rnd: Round) -> int:
    """How many applications of the round are neither published, nor no grade, nor
    withdrawn."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Application)
        .where(
            Application.round_id == rnd.id,
            Application.status.not_in([s.value for s in FINISHED]),
        )
    )


def close_round(rnd: Round, by) -> Round:
    """County staff close a round once every application in it is published, has no grade
    or was withdrawn; nothing joins or changes in it afterwards."""
    require_county_staff(by, rnd.region)
    lock_round(rnd)
    if rnd.status != RoundStatus.OPEN.value:
        raise Conflict(_l("This round is closed."))
    unfinished = unfinished_in(rnd)
    if unfinished:
        raise Conflict(
            _l(
                "%(n)s facilities of the round are not finished yet: publish, decide on or"
                " withdraw them before closing the round.",
                n=unfinished,
            )
        )
    rnd.status = RoundStatus.CLOSED.value
    rnd.closed_at = utcnow()
    rnd.closed_by_id = by.id
    db.session.flush()
    audit.record(
        "rating_round.closed",
        rnd,
        actor=by,
        region_id=rnd.region_id,
        changes={"status": [RoundStatus.OPEN.value, RoundStatus.CLOSED.value]},
    )
    return rnd


def candidates_for(rnd: Round) -> list[Facility]:
    """Active facilities of the county, of a kind the round's scheme rates, not in it yet."""
    kinds = FACILITY_KINDS[SchemeKind(rnd.scheme.kind)]
    taken = sa.select(Application.facility_id).where(Application.round_id == rnd.id)
    return list(
        db.session.scalars(
            sa.select(Facility)
            .where(
                Facility.region_id.in_(Region.subtree_ids(rnd.region)),
                Facility.kind.in_(kinds),
                Facility.active.is_(True),
                Facility.id.not_in(taken),
            )
            .order_by(Facility.name)
        )
    )


def assessor_choices(county: Region) -> list[User]:
    """Who may be appointed in the county: its staff, then its external assessors."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Region, Region.id == User.region_id)
            .where(
                User.role.in_([r.value for r in ASSESSOR_ROLES]),
                User.active.is_(True),
                Region.code.startswith(county.prefix, autoescape=True),
            )
            .order_by(User.role != Role.COUNTY_STAFF.value, User.display_name)
        )
    )


def assessor_options(application: Application) -> list[tuple[User, str]]:
    """Who may still be appointed to the application, each with what the choice says of
    them besides the name: nothing for the county's staff, the role of an external
    assessor."""
    return [
        (user, user.role_label if role_of(user) == Role.ASSESSOR else "")
        for user in assessor_choices(application.round.region)
        if user not in application.assessors
    ]


def applications_for(user) -> list[Application]:
    """The applications ``user`` may open, newest round first: an operator's facility's, an
    external assessor's appointments."""
    return list(
        db.session.scalars(
            visible(Application, user)
            .join(Round, Round.id == Application.round_id)
            .options(
                selectinload(Application.facility),
                selectinload(Application.round),
                selectinload(Application.assessors),
            )
            .order_by(Round.year.desc(), Round.id.desc(), Application.id)
        )
    )
