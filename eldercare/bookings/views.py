"""Booking pages of families (find a time, book, my bookings, cancel, the .ics file) and the
actions on one booking (confirm, decline, complete)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("bookings", __name__, url_prefix="/bookings")


@bp.route("/<int:booking_id>")
def show(booking_id: int):
    abort(404)
