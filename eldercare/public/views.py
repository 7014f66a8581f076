"""Public vacancy search and facility pages (no resident data, no sign-in)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/public")
