"""What the registry tells the features built on it, in the style of Indico's ``signals``:
the registry sends, each feature's ``events.py`` answers, in the same request and the same
database transaction (a receiver that raises rolls the whole operation back). The registry
imports no feature; a feature that must react to a person connects here.

Receivers are connected when the application is built (``eldercare.events.connect_all``).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

person_changed = _signals.signal(
    "person-changed",
    doc="""A person's record was changed (living situation, ability, death...).

    sender: the Person, after the change is flushed. kwargs: ``by`` (the user), ``changes``
    (the audit changes, {field: [before, after]}).""",
)

death_refusals = _signals.signal(
    "death-refusals",
    doc="""Asked before a death is typed into the registry: a receiver returns a reason
    (a message) the registry must refuse it for, or None.

    sender: the Person.""",
)

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
