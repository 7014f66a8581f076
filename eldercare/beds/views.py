"""Bed board and bed pages of a facility (operators act, staff of the area look)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("beds", __name__, url_prefix="/facilities/<int:facility_id>/beds")
