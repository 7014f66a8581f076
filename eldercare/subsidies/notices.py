"""The messages of the subsidy feature, written in each recipient's language and put in the
outbox with idempotency keys, so that a repeated or late run never sends twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from eldercare.core.i18n import speaking
from eldercare.notifications.operations import Notice, app_link


@dataclass(frozen=True)
class Review:
    """An enrolment whose yearly review (年度复审) is coming up or overdue."""

    enrolment_id: int
    name: str  # masked for a person
    program: str
    area: str
    review_on: date
    overdue: bool


@dataclass(frozen=True)
class Candidates:
    """People of a county reaching a program's age this month, not enrolled."""

    program_id: int
    program: str
    age: int
    month: date
    count: int


@dataclass(frozen=True)
class BatchDue:
    """A program's batch for a period not approved as its due date nears."""

    program_id: int
    program: str
    period: date
    period_label: str
    due_on: date
    drawn_up: bool


def reviews(recipients: dict[int, str | None], pairs: list[tuple[int, Review]], today: date):
    """One notice per enrolment, review date, stage and staff member: 30 days ahead, and
    again once overdue."""
    notices = []
    for user_id, item in pairs:
        with speaking(recipients.get(user_id)):
            if item.overdue:
                subject = _("Yearly review overdue: %(name)s", name=item.name)
                body = _(
                    "The yearly review of %(name)s (%(program)s, %(area)s) was due on %(date)s,"
                    " %(days)s days ago. Review the enrolment or suspend it.",
                    name=item.name,
                    program=item.program,
                    area=item.area,
                    date=item.review_on.isoformat(),
                    days=(today - item.review_on).days,
                )
            else:
                subject = _("Yearly review due: %(name)s", name=item.name)
                body = _(
                    "%(name)s (%(program)s, %(area)s) is due for the yearly review by %(date)s.",
                    name=item.name,
                    program=item.program,
                    area=item.area,
                    date=item.review_on.isoformat(),
                )
        stage = "overdue" if item.overdue else "due"
        notices.append(
            Notice(
                user_id=user_id,
                key=f"subsidy-review-{stage}:{item.enrolment_id}:{item.review_on}:{user_id}",
                subject=subject,
                body=body,
            )
        )
    return notices


def candidates(recipients: dict[int, str | None], pairs: list[tuple[int, Candidates]]):
    """One notice per program, month and staff member."""
    notices = []
    for user_id, item in pairs:
        with speaking(recipients.get(user_id)):
            subject = _(
                "%(n)s people newly reach the age for %(program)s",
                n=item.count,
                program=item.program,
            )
            body = _(
                "%(n)s people of the county turn %(age)s in %(month)s and are not enrolled in"
                " %(program)s. Invite them to apply: they are paid from the month after their"
                " birthday.",
                n=item.count,
                age=item.age,
                month=item.month.strftime("%Y-%m"),
                program=item.program,
            )
        notices.append(
            Notice(
                user_id=user_id,
                key=f"subsidy-candidates:{item.program_id}:{item.month:%Y-%m}:{user_id}",
                subject=subject,
                body=body,
                link=app_link("subsidy_files.report", program_id=item.program_id),
            )
        )
    return notices


def batches_due(recipients: dict[int, str | None], pairs: list[tuple[int, BatchDue]]):
    """One notice per program, period and staff member."""
    notices = []
    for user_id, item in pairs:
        with speaking(recipients.get(user_id)):
            subject = _(
                "Batch not approved: %(program)s %(period)s",
                program=item.program,
                period=item.period_label,
            )
            body = _(
                "The %(period)s batch of %(program)s is due at the bank on %(date)s and is not"
                " approved yet (%(status)s). Draw it up and have a colleague approve it.",
                period=item.period_label,
                program=item.program,
                date=item.due_on.isoformat(),
                status=_("drawn up, waiting for approval")
                if item.drawn_up
                else _("not drawn up yet"),
            )
        notices.append(
            Notice(
                user_id=user_id,
                key=f"subsidy-batch-due:{item.program_id}:{item.period}:{user_id}",
                subject=subject,
                body=body,
                link=app_link(
                    "subsidy_files.report",
                    program_id=item.program_id,
                    period=f"{item.period:%Y-%m}",
                ),
            )
        )
    return notices
