"""The one writer of each life event: a death, a move out of the county, the loss of 低保/特困
status, a new ability level. Each records a ``LifeEvent``, writes the person, and sends
``signals.life_event``: beds, day care, visits, subsidies and bookings act on it in the same
transaction (a receiver that fails undoes everything), then each verified relative is told
once. Recording a fact the registry already holds changes nothing.

A facility records a resident's death when it discharges them (``beds`` calls
``record_death`` with its facility); a data feed calls the same operations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from eldercare.core import audit
from eldercare.core.db import local_today
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.core.i18n import speaking
from eldercare.core.permissions import Role, is_local_staff_of, operates, role_of
from eldercare.core.signals import answers
from eldercare.extensions import db
from eldercare.notifications.operations import Notice, app_link, notify_many
from eldercare.people import signals
from eldercare.people.models import (
    SUPPORTED_STATUSES,
    FamilyLink,
    LifeEvent,
    LifeEventKind,
    LifeEventSource,
    LinkStatus,
    Person,
)
from eldercare.people.signals import Effect

NOTE_LENGTH = 255
DESTINATION_LENGTH = 100


@dataclass
class Recorded:
    """What recording a life event did: the event (None when nothing new was learned), and
    each feature's effects, for the recorder's page."""

    event: LifeEvent | None
    already_known: bool = False
    effects: list[Effect] = field(default_factory=list)


def may_record(user, person: Person, facility_id: int | None = None) -> bool:
    """Civil-affairs staff of the person's area; a facility's operators for a resident they
    discharge (``facility_id``, checked by the beds feature against the stay)."""
    if is_local_staff_of(user, person.region):
        return True
    return (
        facility_id is not None and role_of(user) == Role.OPERATOR and operates(user, facility_id)
    )


def _locked(person: Person) -> Person:
    """The person's row, locked until the transaction ends (two officers, or an officer and a
    feed, recording the same death at once: the second sees the first's)."""
    return db.session.scalar(
        sa.select(Person)
        .where(Person.id == person.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _check_day(person: Person, on: date, field_name: str) -> None:
    if on > local_today():
        raise Invalid(errors={field_name: [_l("The date cannot be in the future.")]})
    if on < person.birth_date:
        raise Invalid(errors={field_name: [_l("The date is before the person's birth.")]})


def _refuse_other_day(field_name: str, known: date, what) -> None:
    raise Conflict(
        errors={
            field_name: [
                _l(
                    "%(what)s is already recorded on %(day)s. A correction is made by the "
                    "county civil-affairs bureau.",
                    what=what,
                    day=known.isoformat(),
                )
            ]
        }
    )


def record_death(
    person: Person,
    on: date,
    by,
    *,
    source: str = LifeEventSource.REGISTRY.value,
    note: str = "",
    source_ref: str = "",
    facility_id: int | None = None,
) -> Recorded:
    if not may_record(by, person, facility_id):
        raise AppError(403)
    _check_day(person, on, "death_date")
    person = _locked(person)
    if person.death_date is not None:
        if person.death_date == on:
            return Recorded(None, already_known=True)
        _refuse_other_day("death_date", person.death_date, _l("A death"))
    before = person.death_date
    person.death_date = on
    return _record(
        person,
        LifeEventKind.DEATH,
        on,
        by,
        source=source,
        note=note,
        source_ref=source_ref,
        facility_id=facility_id,
        details={"death_date": [before, on]},
    )


def record_move_out(
    person: Person,
    on: date,
    by,
    *,
    destination: str = "",
    source: str = LifeEventSource.REGISTRY.value,
    note: str = "",
    source_ref: str = "",
) -> Recorded:
    """The household registration moved out of the county: the county serves the person no
    longer (a move inside the county is a change of address, ``update_person``)."""
    if not may_record(by, person):
        raise AppError(403)
    _check_day(person, on, "moved_out_on")
    person = _locked(person)
    if person.death_date is not None:
        raise Conflict(errors={"moved_out_on": [_l("This person is recorded as deceased.")]})
    if person.moved_out_on is not None:
        if person.moved_out_on == on:
            return Recorded(None, already_known=True)
        _refuse_other_day("moved_out_on", person.moved_out_on, _l("A move out of the county"))
    person.moved_out_on = on
    person.moved_out_to = destination.strip()[:DESTINATION_LENGTH]
    return _record(
        person,
        LifeEventKind.MOVED_OUT,
        on,
        by,
        source=source,
        note=note,
        source_ref=source_ref,
        details={"moved_out_on": [None, on], "moved_out_to": [None, person.moved_out_to]},
    )


def status_changed(person: Person, before: str, by, on: date | None = None) -> Recorded | None:
    """Called by ``update_person`` after the economic status changed: leaving 低保/特困 is a
    life event (the programs that pay for it stop), any other change is not."""
    if before not in SUPPORTED_STATUSES or person.economic_status in SUPPORTED_STATUSES:
        return None
    return _record(
        person,
        LifeEventKind.STATUS_LOST,
        on or local_today(),
        by,
        source=LifeEventSource.REGISTRY.value,
        details={"economic_status": [before, person.economic_status]},
    )


def ability_changed(
    person: Person, before: str | None, after: str, on: date, by
) -> Recorded | None:
    """Called by ``add_assessment``: a level other than the last one is a life event (care
    subsidies and the visit tier follow it); the first assessment, or the same level, is
    not."""
    if before is None or before == after:
        return None
    return _record(
        person,
        LifeEventKind.ABILITY_CHANGED,
        on,
        by,
        source=LifeEventSource.ASSESSMENT.value,
        details={"ability_level": [before, after]},
    )


def _record(
    person: Person,
    kind: LifeEventKind,
    on: date,
    by,
    *,
    source: str,
    details: dict,
    note: str = "",
    source_ref: str = "",
    facility_id: int | None = None,
) -> Recorded:
    event = LifeEvent(
        person=person,
        kind=kind.value,
        occurred_on=on,
        source=source,
        source_ref=source_ref[:100],
        recorded_by_id=getattr(by, "id", None),
        facility_id=facility_id,
        note=(note or "").strip()[:NOTE_LENGTH],
        details=audit.changes_between(
            {k: v[0] for k, v in details.items()}, {k: v[1] for k, v in details.items()}
        ),
    )
    db.session.add(event)
    db.session.flush()
    audit.record(
        f"person.{kind.value}",
        person,
        actor=by,
        facility_id=facility_id,
        changes=event.details,
        note=source,
    )
    effects: list[Effect] = []
    for answer in signals.life_event.send(event, by=by, facility_id=facility_id):
        effects.extend(answer[1] or ())
    event.effects = [[e.feature, str(e.text)] for e in effects]
    db.session.flush()
    notify_many(_family_notices(event, effects))
    return Recorded(event, effects=effects)


# --- many at once (a data feed's list) -------------------------------------------------------

#: The facts that can be recorded in bulk, and the person's field each writes.
PLAIN_FIELDS = {
    LifeEventKind.DEATH.value: "death_date",
    LifeEventKind.MOVED_OUT.value: "moved_out_on",
}


def involved(kind: str, person_ids: list[int]) -> set[int]:
    """Of ``person_ids``, those some feature holds anything for that an event of ``kind``
    changes (``signals.involved``): they must be recorded one by one."""
    found: set[int] = set()
    for answer in answers(signals.involved, kind, person_ids=list(person_ids)):
        found |= set(answer)
    return found


@dataclass
class Plain:
    """One fact for ``record_plain``."""

    person: Person
    on: date
    source_ref: str = ""
    destination: str = ""


def record_plain(kind: str, items: list[Plain], by, *, source: str, note: str = "") -> list[Plain]:
    """Record many deaths or moves out at once for people no feature holds anything for
    (``involved`` said so, under the people's row locks taken here first): the same rows as
    one by one — the person's date, a LifeEvent, an audit entry and one notice per verified
    relative — written set-based, with no effects to ask for. Facts the registry already
    holds, or that ``involved`` now names (someone acted in between), are left out and
    returned for the caller to record one by one."""
    if kind not in PLAIN_FIELDS or not items:
        return list(items)
    if not all(may_record(by, item.person) for item in items):
        raise AppError(403)
    field_name = PLAIN_FIELDS[kind]
    ids = [item.person.id for item in items]
    locked = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Person)
            .where(Person.id.in_(ids))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    busy = involved(kind, ids)
    plain, left = [], []
    seen: set[int] = set()
    for item in items:
        person = locked[item.person.id]
        unusable = (
            person.id in busy
            or person.id in seen
            or getattr(person, field_name) is not None
            or (kind == LifeEventKind.MOVED_OUT.value and person.death_date is not None)
            or item.on > local_today()
            or item.on < person.birth_date
        )
        (left if unusable else plain).append(item)
        seen.add(person.id)
    events = []
    for item in plain:
        person = locked[item.person.id]
        setattr(person, field_name, item.on)
        details = {field_name: [None, item.on.isoformat()]}
        if kind == LifeEventKind.MOVED_OUT.value:
            person.moved_out_to = item.destination.strip()[:DESTINATION_LENGTH]
            details["moved_out_to"] = [None, person.moved_out_to]
        events.append(
            LifeEvent(
                person=person,
                kind=kind,
                occurred_on=item.on,
                source=source,
                source_ref=item.source_ref[:100],
                recorded_by_id=getattr(by, "id", None),
                note=(note or "").strip()[:NOTE_LENGTH],
                details=details,
                effects=[],
            )
        )
    db.session.add_all(events)
    db.session.flush()
    by_person = {event.person_id: event for event in events}
    audit.record_many(
        f"person.{kind}",
        [locked[item.person.id] for item in plain],
        actor=by,
        changes=lambda person: by_person[person.id].details,
        note=source,
        entity_type="Person",
    )
    notify_many(_family_notices_many(events))
    return left


# --- the relatives ---------------------------------------------------------------------------


def _wording(kind: LifeEventKind, name: str, day: str) -> tuple[str, str]:
    """(subject, body) of a relative's notice, in the language being spoken."""
    if kind == LifeEventKind.DEATH:
        return (
            _("The death of %(name)s is recorded", name=name),
            _(
                "The civil-affairs registry records that %(name)s died on %(day)s. We are "
                "sorry for your loss.",
                name=name,
                day=day,
            ),
        )
    if kind == LifeEventKind.MOVED_OUT:
        return (
            _("%(name)s has moved out of the county", name=name),
            _(
                "The civil-affairs registry records that the household registration of "
                "%(name)s moved out of the county on %(day)s.",
                name=name,
                day=day,
            ),
        )
    if kind == LifeEventKind.STATUS_LOST:
        return (
            _("The support status of %(name)s has changed", name=name),
            _(
                "From %(day)s, %(name)s is no longer recorded as receiving dibao or "
                "extreme-poverty support.",
                name=name,
                day=day,
            ),
        )
    return (
        _("A new ability assessment for %(name)s", name=name),
        _("An ability assessment of %(name)s on %(day)s gave a new level.", name=name, day=day),
    )


def _verified_links(person_ids: list[int]) -> list[FamilyLink]:
    return list(
        db.session.scalars(
            sa.select(FamilyLink)
            .where(
                FamilyLink.person_id.in_(person_ids),
                FamilyLink.status == LinkStatus.VERIFIED.value,
            )
            .options(joinedload(FamilyLink.user))
            .order_by(FamilyLink.id)
        )
    )


def _family_notices_many(events: list[LifeEvent]) -> list[Notice]:
    """The relatives' notices of events with no effects, their links read at once."""
    links: dict[int, list[FamilyLink]] = {}
    for start in range(0, len(events), 1000):
        chunk = [e.person_id for e in events[start : start + 1000]]
        for link in _verified_links(chunk):
            links.setdefault(link.person_id, []).append(link)
    out = []
    for event in events:
        if event.person_id in links:
            out.extend(_family_notices(event, [], links[event.person_id]))
    return out


def _family_notices(
    event: LifeEvent, effects: list[Effect], links: list[FamilyLink] | None = None
) -> list[Notice]:
    """One notice per verified relative, with what changed for them, in their language."""
    if links is None:
        links = _verified_links([event.person_id])
    kind = LifeEventKind(event.kind)
    person = event.person
    out = []
    for link in links:
        user = link.user
        if not user.active:
            continue
        with speaking(user.locale):
            lines = [str(e.family) for e in effects if e.family is not None]
            subject, body = _wording(kind, person.name, event.occurred_on.isoformat())
            if lines:
                # Chinese sentences follow each other without a space.
                sep = "" if body.endswith("。") else " "
                body = sep.join([body, *lines])
            out.append(
                Notice(
                    user_id=user.id,
                    key=f"life-event:{event.id}:{user.id}",
                    subject=subject,
                    body=body,
                    link=app_link("people.show", person_id=person.id),
                )
            )
    return out


def effects_of(event: LifeEvent) -> list[tuple[str, str]]:
    """The effects recorded with an event (for its page), as (feature, text)."""
    return [(feature, text) for feature, text in event.effects or ()]


__all__ = [
    "Plain",
    "Recorded",
    "ability_changed",
    "effects_of",
    "involved",
    "may_record",
    "record_death",
    "record_move_out",
    "record_plain",
    "status_changed",
]
