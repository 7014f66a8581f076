"""Authorization matrix entries for the day-care reports: a center's report for its operators
and the staff of its area; the roll-up of an area for staff of that area."""

from eldercare.extensions import db
from tests.authz.matrix import Route

READERS = frozenset({"admin", "county_staff", "township_staff", "operator"})
AREA_STAFF = frozenset({"admin", "county_staff", "township_staff"})


def center(world, user):
    """The operator's own facility made a day-care center, and the nearest day-care center
    outside the user's scope: for an operator another center of the same county, for
    township staff the next township's, for county staff one in the other county (a
    day-care kind too, so that a 404 there is the scope's doing, not the kind's)."""
    world.facility_a.kind = "day_care"
    world.facility_b.kind = "happiness_home"
    db.session.flush()
    if user.role in ("operator", "township_staff"):
        return world.facility_a.id, world.facility_a2.id
    return world.facility_a.id, world.facility_b.id


def area(world, user):
    """The user's own area, and the nearest area outside it."""
    if user.role == "township_staff":
        return world.township_a.id, world.township_a2.id
    return world.county_a.id, world.county_b.id


ROUTES = [
    Route("daycare_reports.report", allowed=READERS, target=center, arg="facility_id"),
    Route("daycare_reports.report_xlsx", allowed=READERS, target=center, arg="facility_id"),
    Route("daycare_reports.overview", allowed=AREA_STAFF, target=area, arg="region_id"),
    Route("daycare_reports.overview_xlsx", allowed=AREA_STAFF, target=area, arg="region_id"),
]
