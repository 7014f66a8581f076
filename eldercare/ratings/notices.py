"""The messages of the ratings feature, written in each recipient's language and put in the
outbox with idempotency keys, so that a repeated or late run never sends twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from eldercare.core.i18n import speaking
from eldercare.notifications.operations import Notice, app_link
from eldercare.ratings.grades import star_label


@dataclass(frozen=True)
class ExpiringGrade:
    """A grade running out, with what the message says of it (plain values: set-based)."""

    grade_id: int
    level: int
    valid_until: date
    facility_id: int
    facility_name: str
    round_name: str


def expiring(
    recipients: dict[int, str | None], pairs: list[tuple[int, ExpiringGrade]], today: date
) -> list[Notice]:
    """One notice per grade and staff member: key ``rating-expiry:{grade}:{user}``."""
    notices = []
    for user_id, item in pairs:
        last = item.valid_until - timedelta(days=1)
        with speaking(recipients.get(user_id)):
            subject = _("Star grade expiring: %(name)s", name=item.facility_name)
            body = _(
                "The %(stars)s grade of %(name)s (%(round)s) is valid until %(date)s, "
                "%(days)s more days. Invite the facility to apply for a new rating in time.",
                stars=star_label(item.level),
                name=item.facility_name,
                round=item.round_name,
                date=last.isoformat(),
                days=(item.valid_until - today).days,
            )
        notices.append(
            Notice(
                user_id=user_id,
                key=f"rating-expiry:{item.grade_id}:{user_id}",
                subject=subject,
                body=body,
                link=app_link("facilities.show", facility_id=item.facility_id),
            )
        )
    return notices
