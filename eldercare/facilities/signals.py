"""What the facility registry asks of the features built on it (see people.signals for the
style): the registry imports no feature."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

details_shown = _signals.signal(
    "facility-details-shown",
    doc="""A facility's page is drawn: each receiver returns ``{name: value}`` for the page
    (ratings: the grade in force and the grade history).

    sender: the Facility.""",
)
