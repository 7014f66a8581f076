"""API: a facility's beds and stays, for operators' own systems (token auth)."""

from __future__ import annotations

from eldercare.core.api import api_blueprint

blp = api_blueprint("beds", "Beds and stays of a facility")
