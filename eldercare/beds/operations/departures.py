"""A resident who died: the open stay closes on the date of death (reason death, a leave in
progress ends, the bed is free again) and any reservation kept for the person ends. One
operation for the registry's life event (``beds.events``) and for the nightly repair sweep
(``beds.tasks.repair_departed``). A move out of the county does not end a stay: beds do
nothing then.

A death the facility did not record itself (a township, a data feed, the sweep) is told to
the facility's operators: their resident's bed is free."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from eldercare.auth.models import User
from eldercare.beds.models import DischargeReason, Reservation, Stay
from eldercare.beds.operations.state import lock_bed, refresh_status
from eldercare.core import audit
from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Conflict
from eldercare.core.i18n import speaking
from eldercare.core.permissions import Role
from eldercare.extensions import db
from eldercare.notifications.operations import Notice, app_link, notify_many
from eldercare.people.models import Person
from eldercare.people.signals import Effect

log = logging.getLogger(__name__)

#: The end reason of a reservation kept for someone who died.
DEATH_REASON = "death"
#: The audit note of what the repair sweep closed (the event should have done it).
REPAIR_NOTE = "repair"


@dataclass
class Closed:
    """What a death closed: the stay (None if the person had no open stay) and the
    reservations ended."""

    stay: Stay | None = None
    reservations: list[Reservation] = field(default_factory=list)

    @property
    def count(self) -> int:
        return (self.stay is not None) + len(self.reservations)


def _open_stay_of(person_id: int) -> Stay | None:
    return db.session.scalar(
        sa.select(Stay).where(Stay.person_id == person_id, Stay.discharged_on.is_(None))
    )


def _impossible(stay: Stay, on: date) -> None:
    """A death date the stay's own history contradicts: before the admission to this bed,
    before the leave in progress began, or before an earlier leave of the stay ended."""
    bed = stay.bed
    if on < stay.admitted_on:
        raise Conflict(
            errors={
                "death_date": [
                    _l(
                        "The date of death %(day)s is before the resident's admission to "
                        "%(bed)s on %(admitted)s. Check the date; if it is right, the facility "
                        "must correct the stay first.",
                        day=on.isoformat(),
                        bed=bed.title,
                        admitted=stay.admitted_on.isoformat(),
                    )
                ]
            }
        )
    for leave in stay.leaves:
        last = leave.end_on or leave.start_on
        if last > on:
            raise Conflict(
                errors={
                    "death_date": [
                        _l(
                            "The date of death %(day)s is before a leave of the resident of "
                            "%(bed)s recorded up to %(until)s. Check the date; if it is right, "
                            "the facility must correct the leave first.",
                            day=on.isoformat(),
                            bed=bed.title,
                            until=last.isoformat(),
                        )
                    ]
                }
            )


def close_for_death(
    person: Person,
    on: date,
    by,
    facility_id: int | None = None,
    *,
    now: datetime | None = None,
    repair: bool = False,
) -> Closed:
    """The person died on ``on``: close their open stay on that date (reason death) and end
    the reservations kept for them, each bed's status recomputed. ``facility_id`` is the
    facility that recorded the death (None: the registry, a feed, the sweep); when it is not
    the stay's, the stay's facility is told. Called again, it finds nothing open and does
    nothing. Refuses (Conflict) a date the stay's history contradicts; never commits."""
    now = now or utcnow()
    closed = Closed()
    stay = _open_stay_of(person.id)
    if stay is not None:
        bed = lock_bed(stay.bed_id)
        db.session.refresh(stay)
        if stay.discharged_on is None:  # not closed meanwhile by a discharge
            _impossible(stay, on)
            leave = stay.current_leave
            if leave is not None:
                leave.end_on = on
            stay.discharged_on = on
            stay.discharge_reason = DischargeReason.DEATH.value
            db.session.flush()
            refresh_status(bed, now)
            audit.record(
                "stay.discharged",
                stay,
                actor=by,
                facility_id=stay.facility_id,
                region_id=person.region_id,
                changes={
                    "bed": [bed.title, None],
                    "discharged_on": [None, on],
                    "discharge_reason": [None, DischargeReason.DEATH.value],
                },
                note=REPAIR_NOTE if repair else "death",
            )
            closed.stay = stay
            if facility_id != stay.facility_id:
                notify_many(_operators_told(stay))
    for reservation in db.session.scalars(
        sa.select(Reservation)
        .where(Reservation.person_id == person.id, Reservation.ended_at.is_(None))
        .order_by(Reservation.bed_id)
    ).all():
        bed = lock_bed(reservation.bed_id)
        db.session.refresh(reservation)
        if reservation.ended_at is not None:
            continue
        reservation.ended_at = now
        reservation.end_reason = DEATH_REASON
        db.session.flush()
        refresh_status(bed, now)
        audit.record(
            "bed.reservation_ended",
            bed,
            actor=by,
            facility_id=reservation.facility_id,
            note=REPAIR_NOTE if repair else reservation.holder_name,
        )
        closed.reservations.append(reservation)
    return closed


def _operators_told(stay: Stay) -> list[Notice]:
    """One notice to each active operator of the stay's facility, in their language."""
    operators = db.session.scalars(
        sa.select(User)
        .where(
            User.facility_id == stay.facility_id,
            User.role == Role.OPERATOR.value,
            User.active.is_(True),
        )
        .order_by(User.id)
    ).all()
    bed = stay.bed
    out = []
    for user in operators:
        with speaking(user.locale):
            out.append(
                Notice(
                    user_id=user.id,
                    key=f"stay-ended-death:{stay.id}:{user.id}",
                    subject=_("A resident's death is recorded: %(name)s", name=stay.person.name),
                    body=_(
                        "The civil-affairs registry records that %(name)s died on %(day)s. "
                        "The stay in %(bed)s has ended on that date and the bed is free again.",
                        name=stay.person.name,
                        day=stay.discharged_on.isoformat(),
                        bed=bed.title,
                    ),
                    link=app_link("beds.show", facility_id=stay.facility_id, bed_id=bed.id),
                    channels=("inapp",),
                )
            )
    return out


def death_effects(closed: Closed) -> list[Effect]:
    """What the recorder is shown and the relatives are told."""
    effects = []
    if closed.stay is not None:
        effects.append(stay_effect(closed.stay))
    for reservation in closed.reservations:
        effects.append(
            Effect(
                "beds",
                _l(
                    "The reservation of %(bed)s at %(home)s has ended.",
                    bed=reservation.bed.title,
                    home=reservation.bed.facility.name,
                ),
            )
        )
    return effects


def stay_effect(stay: Stay) -> Effect:
    return Effect(
        "beds",
        _l(
            "Bed %(bed)s is free; the stay ended on %(day)s (death).",
            bed=stay.bed.title,
            day=stay.discharged_on.isoformat(),
        ),
        family=_l("The stay at %(home)s has ended.", home=stay.bed.facility.name),
    )


# --- the repair sweep ------------------------------------------------------------------------


def dead_with_open_beds() -> list[Person]:
    """The dead who still have an open stay or an open reservation: what the sweep finds
    (none when every death was answered)."""
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(
                Person.death_date.is_not(None),
                sa.or_(
                    sa.exists().where(Stay.person_id == Person.id, Stay.discharged_on.is_(None)),
                    sa.exists().where(
                        Reservation.person_id == Person.id, Reservation.ended_at.is_(None)
                    ),
                ),
            )
            .order_by(Person.id)
        )
    )


def repair_departed(now: datetime | None = None) -> int:
    """Close what a death left open, by the same operation as the event's, each person in a
    savepoint: a death the stay's history contradicts is logged and left for an officer (the
    others are still repaired). The number of stays and reservations closed."""
    now = now or utcnow()
    count = 0
    for person in dead_with_open_beds():
        try:
            with db.session.begin_nested():
                count += close_for_death(
                    person, person.death_date, None, None, now=now, repair=True
                ).count
        except AppError as err:
            log.warning("beds: the death of person %s was not applied: %s", person.id, err.errors)
    return count


__all__ = [
    "Closed",
    "close_for_death",
    "dead_with_open_beds",
    "death_effects",
    "repair_departed",
    "stay_effect",
]
