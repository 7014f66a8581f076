"""Authorization matrix entries for regions."""

from tests.authz.matrix import ALL, Route, township

ADMIN_COUNTY = frozenset({"admin", "county_staff"})

ROUTES = [
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
