"""Authorization matrix entries for the bed indicators and the county overview."""

from tests.authz.matrix import STAFF, Route


def area(world, user):
    """County staff: their county, and the other county outside; township staff: their
    township, and the next township of the same county outside."""
    if user.role == "township_staff":
        return world.township_a.id, world.township_a2.id
    return world.county_a.id, world.county_b.id


ROUTES = [
    Route("dashboard.beds", allowed=STAFF),
    Route("dashboard.beds", allowed=STAFF, target=area, arg="region_id", note="chosen area"),
]
ROUTES += [
    Route("dashboard.overview", allowed=STAFF),
    Route("dashboard.overview", allowed=STAFF, target=area, arg="region_id", note="chosen area"),
    Route("dashboard.overview_xlsx", allowed=STAFF, target=area, arg="region_id"),
    Route("dashboard.recompute_overview", "POST", allowed=STAFF, ok=(302,)),
    Route(
        "dashboard.recompute_overview",
        "POST",
        allowed=STAFF,
        target=area,
        arg="region_id",
        ok=(302,),
        note="chosen area",
    ),
]
