"""Pages of the existence check."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("existence", __name__, url_prefix="/subsidies/existence")
