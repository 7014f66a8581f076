"""Authorization matrix entries for the county star view: staff of an area see it for their
own area and anything inside it; any other area is not found."""

from tests.authz.matrix import STAFF, Route


def area(world, user):
    """The user's own area, and the nearest area outside it."""
    if user.role == "township_staff":
        return world.township_a.id, world.township_a2.id
    return world.county_a.id, world.county_b.id


ROUTES = [
    Route("ratings_overview.overview", allowed=STAFF, target=area, arg="region_id"),
    Route("ratings_overview.overview_xlsx", allowed=STAFF, target=area, arg="region_id"),
]
