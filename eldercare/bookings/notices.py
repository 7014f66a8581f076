"""The messages of the booking feature, in each recipient's language, with outbox keys that
make a repeated run or a retried request enqueue nothing twice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import gettext as _

from eldercare.core.i18n import speaking
from eldercare.core.templating import local_time
from eldercare.notifications.models import Channel
from eldercare.notifications.operations import Notice, app_link

if TYPE_CHECKING:
    from eldercare.auth.models import User
    from eldercare.bookings.models import Booking

#: Operators hear of requests and cancellations in the application; families everywhere.
OPERATOR_CHANNELS = (Channel.INAPP.value,)


def _when(booking: Booking) -> str:
    return f"{local_time(booking.starts_at)}–{local_time(booking.ends_at, '%H:%M')}"


def _where(booking: Booking) -> str:
    if booking.place:
        return booking.place
    facility = booking.facility
    return f"{facility.name} {facility.address}".strip()


def _family(booking: Booking, key: str, subject, body) -> list[Notice]:
    return [
        Notice(
            user_id=booking.user_id,
            key=f"{key}:{booking.id}",
            subject=subject,
            body=body,
            link=app_link("bookings.show", booking_id=booking.id),
        )
    ]


def confirmed(booking: Booking) -> list[Notice]:
    with speaking(booking.user.locale):
        return _family(
            booking,
            "booking-confirmed",
            _("Booking confirmed: %(service)s", service=booking.service.name),
            _(
                "Your booking for %(name)s is confirmed: %(service)s, %(when)s, at %(where)s."
                " The booking page has a calendar file (.ics) and lets you cancel.",
                name=booking.person.name,
                service=booking.service.name,
                when=_when(booking),
                where=_where(booking),
            ),
        )


def reminder(booking: Booking) -> list[Notice]:
    with speaking(booking.user.locale):
        return _family(
            booking,
            "booking-reminder",
            _("Tomorrow: %(service)s", service=booking.service.name),
            _(
                "A reminder of your booking for %(name)s tomorrow: %(service)s, %(when)s,"
                " at %(where)s.",
                name=booking.person.name,
                service=booking.service.name,
                when=_when(booking),
                where=_where(booking),
            ),
        )


def cancelled_by_facility(booking: Booking, declined: bool) -> list[Notice]:
    with speaking(booking.user.locale):
        subject = (
            _("Booking declined: %(service)s", service=booking.service.name)
            if declined
            else _("Booking cancelled by the facility: %(service)s", service=booking.service.name)
        )
        return _family(
            booking,
            "booking-cancelled",
            subject,
            _(
                "%(facility)s cannot take your booking for %(name)s (%(service)s, %(when)s)."
                " Reason: %(reason)s",
                facility=booking.facility.name,
                name=booking.person.name,
                service=booking.service.name,
                when=_when(booking),
                reason=booking.reason,
            ),
        )


def expired(booking: Booking) -> list[Notice]:
    with speaking(booking.user.locale):
        return _family(
            booking,
            "booking-expired",
            _("Booking not confirmed: %(service)s", service=booking.service.name),
            _(
                "%(facility)s did not confirm your request for %(name)s (%(service)s,"
                " %(when)s) in time, so it has lapsed. Please book another time or phone"
                " the facility.",
                facility=booking.facility.name,
                name=booking.person.name,
                service=booking.service.name,
                when=_when(booking),
            ),
        )


def _to_operators(booking: Booking, operators: list[User], key: str, subject, body) -> list:
    out = []
    for user in operators:
        with speaking(user.locale):
            out.append(
                Notice(
                    user_id=user.id,
                    key=f"{key}:{booking.id}:{user.id}",
                    subject=subject(),
                    body=body(),
                    link=app_link("bookings.show", booking_id=booking.id),
                    channels=OPERATOR_CHANNELS,
                )
            )
    return out


def requested(booking: Booking, operators: list[User]) -> list[Notice]:
    return _to_operators(
        booking,
        operators,
        "booking-requested",
        lambda: _("New booking request: %(service)s", service=booking.service.name),
        lambda: _(
            "%(name)s, %(service)s, %(when)s: waiting for your confirmation.",
            name=booking.person.name,
            service=booking.service.name,
            when=_when(booking),
        ),
    )


def cancelled_by_family(booking: Booking, operators: list[User]) -> list[Notice]:
    return _to_operators(
        booking,
        operators,
        "booking-cancelled",
        lambda: _("Booking cancelled by the family: %(service)s", service=booking.service.name),
        lambda: _(
            "The family cancelled the booking of %(name)s, %(service)s, %(when)s.",
            name=booking.person.name,
            service=booking.service.name,
            when=_when(booking),
        ),
    )


def cancelled_by_relative(booking: Booking, by: User) -> list[Notice]:
    """The one who booked hears when another verified relative cancelled it."""
    with speaking(booking.user.locale):
        return _family(
            booking,
            "booking-cancelled",
            _(
                "Booking cancelled by %(who)s: %(service)s",
                who=by.display_name,
                service=booking.service.name,
            ),
            _(
                "%(who)s cancelled the booking for %(name)s: %(service)s, %(when)s.",
                who=by.display_name,
                name=booking.person.name,
                service=booking.service.name,
                when=_when(booking),
            ),
        )


def cancelled_for_departure(booking: Booking, operators: list[User]) -> list[Notice]:
    """The facility hears that the registry's record of a death or a move out of the county
    cancelled a booking (the family hears of it in the registry's own notice)."""
    return _to_operators(
        booking,
        operators,
        "booking-cancelled",
        lambda: _("Booking cancelled: %(service)s", service=booking.service.name),
        lambda: _(
            "The booking of %(name)s, %(service)s, %(when)s, is cancelled: %(why)s The place "
            "is free again.",
            name=booking.person.name,
            service=booking.service.name,
            when=_when(booking),
            why=booking.departure_note,
        ),
    )
