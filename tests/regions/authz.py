"""Authorization matrix entries for regions."""

from tests.authz.matrix import ALL, Route, township

ADMIN_COUNTY = frozenset({"admin", "county_staff"})


def county(world, user):
    """A county's settings: the user's own county, and the other one."""
    return world.county_a.id, world.county_b.id


def settings_form(world, user):
    return {"subsidy_periods_ahead": "2", "bed_price_min": "500", "bed_price_max": "20000"}


ROUTES = [
    # County staff of the county (and administrators) keep its settings; another county's
    # settings are 404, like any record out of scope.
    Route("regions.settings", allowed=ADMIN_COUNTY, target=county, arg="region_id"),
    Route(
        "regions.settings",
        method="POST",
        allowed=ADMIN_COUNTY,
        target=county,
        arg="region_id",
        data=settings_form,
        ok=(302,),
    ),
    Route("regions.index", allowed=ADMIN_COUNTY),
    Route("regions.show", allowed=ADMIN_COUNTY, target=township, arg="region_id"),
    # Administrative divisions are public knowledge: every signed-in role may read them.
    Route("api_regions.list_regions", allowed=ALL, api=True),
    Route(
        "api_regions.get_region",
        allowed=ALL,
        api=True,
        target=lambda w, u: (w.township_a.id, None),
        arg="region_id",
    ),
]
