"""The messages of the existence check, in each recipient's language, with outbox keys so a
repeated or late run never sends one twice: coming due, overdue, and payments suspended."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from eldercare.core.i18n import speaking
from eldercare.notifications.operations import Notice, app_link
from eldercare.subsidies.existence.queries import DueCheck

DUE, OVERDUE, SUSPENDED = "due", "overdue", "suspended"


def _text(stage: str, item: DueCheck, today: date) -> tuple[str, str]:
    values = {
        "name": item.name,
        "program": item.program,
        "area": item.area,
        "date": item.due_on.isoformat(),
    }
    if stage == SUSPENDED:
        return (
            _("Payments suspended, existence not checked: %(name)s", name=item.name),
            _(
                "The existence check of %(name)s (%(program)s, %(area)s) was due on %(date)s"
                " and the grace period is over: payments are suspended. Record the check"
                " once the person is seen, and payments resume.",
                **values,
            ),
        )
    if stage == OVERDUE:
        return (
            _("Existence check overdue: %(name)s", name=item.name),
            _(
                "The existence check of %(name)s (%(program)s, %(area)s) was due on %(date)s."
                " Payments are suspended after %(grace)s unless it is recorded.",
                grace=item.grace_ends_on.isoformat(),
                **values,
            ),
        )
    return (
        _("Existence check due: %(name)s", name=item.name),
        _(
            "%(name)s (%(program)s, %(area)s) is due for the existence check by %(date)s:"
            " see the person (at home, by video call, or through their facility) and record it.",
            **values,
        ),
    )


def notices(
    recipients: dict[int, str | None], pairs: list[tuple[int, str, DueCheck]], today: date
) -> list[Notice]:
    """One notice per enrolment, due date, stage and staff member."""
    out = []
    for user_id, stage, item in pairs:
        with speaking(recipients.get(user_id)):
            subject, body = _text(stage, item, today)
        out.append(
            Notice(
                user_id=user_id,
                key=f"subsidy-existence-{stage}:{item.enrolment_id}:{item.due_on}:{user_id}",
                subject=subject,
                body=body,
                link=app_link("existence.enrolment", id=item.enrolment_id),
            )
        )
    return out
