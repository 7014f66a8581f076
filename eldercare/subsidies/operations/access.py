"""Who may do what with subsidies: the permission checks the operations share."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from eldercare.core.errors import AppError
from eldercare.core.permissions import is_county_staff_of
from eldercare.regions.models import Region
from eldercare.subsidies.models import Program


def forbidden(message=None) -> AppError:
    return AppError(403, message or _l("You do not have permission to do this."))


def may_manage_program(user, program: Program) -> bool:
    return is_county_staff_of(user, program.region)


def require_county(user, region: Region) -> None:
    if not is_county_staff_of(user, region):
        raise forbidden(_l("Only county staff of this county may do this."))
