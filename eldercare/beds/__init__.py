"""Bed inventory: rooms and beds, stays (admission to discharge), reservations, outages."""
