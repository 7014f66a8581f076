"""Authorization matrix entries for the audit log."""

from tests.authz.matrix import Route

ROUTES = [Route("audit.index", allowed=frozenset({"admin", "county_staff"}))]
