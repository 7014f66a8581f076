"""Star rating pages, one blueprint in modules by page group: the schemes, the rounds, an
application's page with the committee and the notice, and the scores with their evidence
files."""

from eldercare.ratings.views import applications, rounds, schemes, scores  # noqa: F401 (routes)
from eldercare.ratings.views.common import bp

__all__ = ["bp"]
