"""Authorization matrix entries for the home page."""

from tests.authz.matrix import ALL, Route

ROUTES = [Route("home.index", allowed=ALL)]
