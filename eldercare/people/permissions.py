"""Registry policies on how often a signed-in user may reveal ID numbers or probe for them."""

from __future__ import annotations

from flask_limiter.util import get_remote_address
from flask_login import current_user

from eldercare.extensions import limiter


def per_account() -> str:
    """Count per signed-in account: a township office or a proxy puts many people behind one
    address, so a limit per address would lock out every colleague (or let one user multiply
    it by switching networks)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


#: Full ID numbers shown to one account, through the page and the API together.
reveal_limit = limiter.shared_limit("30 per hour", scope="person-reveal-id", key_func=per_account)
#: Link requests of one family account (each checks a name against an ID number).
link_request_limit = limiter.limit("10 per hour", methods=["POST"], key_func=per_account)
#: Registrations by one account (a refused duplicate tells that an ID number exists).
registration_limit = limiter.limit("300 per hour", methods=["POST"], key_func=per_account)
