"""How often one account may name people by ID number and name (admissions, reservations):
each attempt checks a pair against the whole registry."""

from eldercare.extensions import limiter
from eldercare.people.permissions import per_account

person_by_card_limit = limiter.shared_limit(
    "300 per hour", scope="person-by-card", key_func=per_account, methods=["POST"]
)
