"""Drawing up a batch: set-based INSERT ... SELECT for people, exceptions by UPDATE.

A person program's batch is one statement per period: every active enrolment whose person
matches a rule of the table in force is inserted with that rule's amount; the partial unique
index on (enrolment, period) turns a repeated or concurrent run into a no-op
(ON CONFLICT DO NOTHING). Facility programs are few rows and count beds, members or meals,
so they are computed row by row.

Submodules: ``people`` and ``facilities`` (the payments of one period), ``draw`` (what a
batch is missing), ``checks`` (exclusions and holds), ``sql`` (the INSERT they share). This
package re-exports what is used outside it.
"""

from eldercare.subsidies.generation.checks import exclude_ineligible, hold_suspicious
from eldercare.subsidies.generation.draw import fill
from eldercare.subsidies.generation.facilities import star_level_on
from eldercare.subsidies.generation.people import eligible_people
from eldercare.subsidies.generation.sql import county_region_ids

__all__ = [
    "county_region_ids",
    "eligible_people",
    "exclude_ineligible",
    "fill",
    "hold_suspicious",
    "star_level_on",
]
