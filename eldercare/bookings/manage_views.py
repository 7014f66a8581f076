"""The operator's side of bookings: the facility's services and their hours, blackout days,
the requests to answer and the week's booking calendar."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("booking_admin", __name__, url_prefix="/facilities/<int:facility_id>/bookings")
