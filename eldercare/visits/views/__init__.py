"""Visit pages: the visitor's "today and overdue" list and visit form (made for a phone),
care plans for staff, coverage and the ledger export, the county's visit rules. One blueprint;
its routes are grouped by page in the modules imported here."""

from eldercare.visits.views import coverage, plans, records  # noqa: F401  (their routes)
from eldercare.visits.views.common import bp

__all__ = ["bp"]
