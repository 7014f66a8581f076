"""Jinja globals: navigation per role, languages, local times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from eldercare.core.i18n import html_lang
from eldercare.core.masking import mask_phone
from eldercare.core.permissions import ROLE_LABELS, Role, role_of


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    roles: frozenset[Role]
    #: Also shown to visitors who are not signed in (public pages).
    anonymous: bool = False
    #: A number shown beside the label (unread messages), a function of the signed-in user.
    badge: Callable[[Any], int] | None = None


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.COUNTY_STAFF, Role.TOWNSHIP_STAFF})


def _unread_messages(user) -> int:
    from eldercare.notifications.operations import unread_count

    return unread_count(user)


#: Features append their entries here when they register (order is the menu order).
NAV: list[NavItem] = [
    NavItem("home.index", _l("Home"), ALL_ROLES),
    NavItem("public.facilities", _l("Find a care facility"), ALL_ROLES, anonymous=True),
    NavItem("bookings.mine", _l("My bookings"), frozenset({Role.FAMILY})),
    NavItem("dashboard.overview", _l("County overview"), STAFF),
    NavItem("people.index", _l("Elderly registry"), STAFF),
    NavItem("people.links", _l("Family links"), STAFF | {Role.OPERATOR}),
    NavItem("facilities.index", _l("Facilities"), STAFF | {Role.OPERATOR}),
    NavItem("booking_desk.index", _l("Bookings"), frozenset({Role.OPERATOR})),
    NavItem("regions.index", _l("Regions"), frozenset({Role.ADMIN, Role.COUNTY_STAFF})),
    NavItem("visits.due", _l("Visit care"), STAFF | {Role.VISITOR}),
    NavItem("dashboard.beds", _l("Bed indicators"), STAFF),
    NavItem("daycare_reports.overview", _l("Day care"), STAFF),
    NavItem("ratings.rounds", _l("Star ratings"), STAFF),
    NavItem("subsidies.programs", _l("Subsidies"), STAFF),
    NavItem("existence.due", _l("Existence checks"), STAFF),
    NavItem("feeds.index", _l("Data feeds"), frozenset({Role.ADMIN, Role.COUNTY_STAFF})),
    # An external assessor works only here: the applications it is appointed to.
    NavItem(
        "ratings.my_applications", _l("Star ratings"), frozenset({Role.OPERATOR, Role.ASSESSOR})
    ),
    NavItem("audit.index", _l("Audit log"), frozenset({Role.ADMIN, Role.COUNTY_STAFF})),
    NavItem("auth.users", _l("Users"), frozenset({Role.ADMIN})),
    NavItem("notifications.outbox", _l("Outbox"), frozenset({Role.ADMIN})),
    NavItem("jobs.index", _l("Scheduled jobs"), frozenset({Role.ADMIN})),
    NavItem("notifications.inbox", _l("Messages"), ALL_ROLES, badge=_unread_messages),
]


def nav_for(user) -> list[NavItem]:
    role = role_of(user)
    if role is None:  # not signed in (or not allowed to act): public pages only
        return [item for item in NAV if item.anonymous]
    return [item for item in NAV if role in item.roles]


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    return value.astimezone(tz).strftime(fmt)


def yuan(fen: int | None, grouped: bool = True) -> str:
    """Integer fen as yuan with two decimals (18000 -> 180.00, 1234567 -> 12,345.67)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}" if grouped else f"{sign}{whole}.{cents:02d}"


def month(day: date | None) -> str:
    """A period or month as YYYY-MM."""
    return f"{day.year}-{day.month:02d}" if day else ""


def install_template_globals(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["yuan"] = yuan
    app.jinja_env.filters["month"] = month
    app.jinja_env.filters["mask_phone"] = mask_phone

    def _page_to_return_to() -> str:
        """Where the language switch returns: this page, or, on a page answering a POST
        (a refused form), the page the form was on, which a GET can open."""
        if request.method == "GET":
            return request.full_path.rstrip("?")
        referrer = urlsplit(request.referrer or "")
        if referrer.netloc == request.host and referrer.path.startswith("/"):
            return referrer.path + (f"?{referrer.query}" if referrer.query else "")
        return "/"

    @app.context_processor
    def _globals():
        locale = str(get_locale() or "zh_Hans_CN")
        return {
            "nav_items": nav_for(current_user),
            "current_locale": locale,
            "html_lang": html_lang(locale),
            "languages": current_app.config["LANGUAGES"],
            "role_label_of": lambda role: ROLE_LABELS.get(role, role),
            "language_next": _page_to_return_to(),
        }
