"""Where the features' event receivers are connected: each module listed here connects its
receivers to the signals of the features below it when imported. ``create_app`` calls
``connect_all`` once; importing a module twice connects nothing twice."""

from __future__ import annotations

from importlib import import_module

#: The features that answer events, by module.
RECEIVERS = (
    "eldercare.beds.events",
    "eldercare.visits.events",
    "eldercare.daycare.events",
    "eldercare.subsidies.events",
    "eldercare.bookings.events",
    "eldercare.ratings.events",
)


def connect_all() -> None:
    for name in RECEIVERS:
        import_module(name)
