"""The authorization matrix: every route x every role x in-scope / out-of-scope target.

Each feature lists its routes in ``tests/<feature>/authz.py`` as ``ROUTES = [Route(...)]``.
``test_matrix.py`` runs them all and fails when a route of the application is missing.

Expectations, per route:
- nobody signed in: HTML pages redirect to the sign-in page, the API answers 401;
- a role not in ``allowed``: 403;
- an allowed role on a record of its scope: one of ``ok``;
- an allowed role on a record outside its scope: 404, exactly like a missing record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.builders import World

ROLES = ("admin", "county_staff", "township_staff", "visitor", "operator", "family", "assessor")
STAFF = frozenset({"admin", "county_staff", "township_staff"})
ALL = frozenset(ROLES)

# target(world, acting_user) -> (in-scope id, out-of-scope id or None); a route with several
# URL parameters gives dicts of them instead ({"facility_id": .., "bed_id": ..}).
Target = Callable[[World, Any], tuple[int | dict, int | dict | None]]


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str = "GET"
    allowed: frozenset[str] = ALL
    target: Target | None = None
    arg: str = "id"  # URL parameter the target fills
    data: Callable[[World, Any], dict] | None = None
    ok: tuple[int, ...] = (200,)
    api: bool = False
    note: str = ""
    extra_args: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.method)

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint}"


def _nearest_outside(world, user, in_a2, in_b):
    """Out of scope as close as it gets: for township staff the next township of their own
    county; for everyone else the other county."""
    return in_a2 if user.role == "township_staff" else in_b


def person(world, user):
    return world.person_a.id, _nearest_outside(world, user, world.person_a2, world.person_b).id


def facility(world, user):
    if user.role == "operator":  # another facility of the same county
        return world.facility_a.id, world.facility_a2.id
    return world.facility_a.id, _nearest_outside(
        world, user, world.facility_a2, world.facility_b
    ).id


def township(world, user):
    return world.township_a.id, world.township_b.id
