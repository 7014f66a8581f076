"""What the registry tells the features built on it, in the style of Indico's ``signals``:
the registry sends, each feature's ``events.py`` answers, in the same request and the same
database transaction (a receiver that raises rolls the whole operation back). The registry
imports no feature; a feature that must react to a person connects here.

Receivers are connected when the application is built (``eldercare.events.connect_all``).
"""

from __future__ import annotations

from dataclasses import dataclass

from blinker import Namespace

_signals = Namespace()

person_changed = _signals.signal(
    "person-changed",
    doc="""A person's record was changed (living situation, ability, death...).

    sender: the Person, after the change is flushed. kwargs: ``by`` (the user), ``changes``
    (the audit changes, {field: [before, after]}).""",
)

life_event = _signals.signal(
    "life-event",
    doc="""A death, a move out of the county, the loss of 低保/特困 status or a new ability
    level was recorded (``people.life_events``, the one writer of each). Every feature
    acts on it here, in the recorder's transaction: a receiver that raises undoes it all.
    A receiver returns the list of ``Effect``s it had (or None), shown to the recorder
    and told to the relatives.

    sender: the LifeEvent (flushed; ``event.person`` is updated). kwargs: ``by`` (the
    user, None for a job), ``facility_id`` (the facility that recorded it, if any).""",
)

event_doubts = _signals.signal(
    "life-event-doubts",
    doc="""Asked before a data feed applies a life event by itself: each receiver returns a
    reason (a lazy string) why an officer should look at it first, or None; a row with a
    reason goes to the feed's review queue instead (e.g. payments already sent for periods
    after the death date). The registry page and a discharge do not ask: their officer is
    the one who looks.

    sender: the Person. kwargs: ``kind`` (a LifeEventKind value), ``on`` (the date).""",
)

involved = _signals.signal(
    "life-event-involved",
    doc="""Asked once per chunk by a bulk recording (a data feed's list of deaths or moves
    out): of ``person_ids``, the ones this feature holds anything for that such an event
    would change (an open stay or reservation, a membership, a visit plan or a message
    waiting about them, any subsidy enrolment, an open booking). Those are recorded one by
    one through ``life_event``; the others set-based (``life_events.record_plain``), with
    nothing for any feature to do. A feature that adds a receiver to ``life_event`` adds
    one here too: the nightly repair sweeps catch what a forgotten one lets through.

    sender: the kind (a LifeEventKind value). kwargs: ``person_ids`` (a list). Returns the
    set of ids involved (or None).""",
)


@dataclass(frozen=True)
class Effect:
    """What a feature did about a life event. ``text`` is for staff (the recorder's page,
    the event's record); ``family`` is what a verified relative is told, or None. Both are
    lazy strings, rendered in each reader's language."""

    feature: str
    text: object
    family: object | None = None


link_revoked = _signals.signal(
    "family-link-revoked",
    doc="""A family member's link to a relative was revoked.

    sender: the FamilyLink. kwargs: ``by``.""",
)

family_sections = _signals.signal(
    "family-sections",
    doc="""Asked when a family member opens a verified relative's page: each receiver returns
    ``{section name: value}`` with only what a relative may know (see people.family).

    sender: the Person.""",
)
