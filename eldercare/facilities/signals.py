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

closing_refusals = _signals.signal(
    "facility-closing-refusals",
    doc="""Asked before a facility is switched off (``active`` set to false), with its row
    locked: each receiver returns a list of reasons (lazy strings) why it cannot stop yet,
    each saying what is open and what to do first (beds: residents staying, beds reserved;
    day care: current members; bookings: bookings still to come), or None. Any reason
    refuses the change (409), and nothing is written.

    sender: the Facility.""",
)
