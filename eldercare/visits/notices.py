"""The messages of the visit feature, written in each recipient's language and put in the
outbox with idempotency keys, so that a repeated or late run never sends twice."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import pgettext

from eldercare.core.i18n import speaking
from eldercare.core.masking import mask_name
from eldercare.extensions import db
from eldercare.notifications.operations import Notice, app_link, notify_many
from eldercare.visits.models import CareTarget, MajorEvent, Tier

#: Names listed in one digest or escalation message; the rest are counted.
LIST_LIMIT = 20


@dataclass(frozen=True)
class DueLine:
    """One person in a digest, reminder or escalation (plain values: built set-based)."""

    target_id: int
    name: str
    village: str
    tier: str
    next_due_on: date | None
    overdue_days: int
    urgent: bool
    #: What was missed: the due date, or the major event's deadline (for reminder keys).
    missed: str = ""
    #: The registry's person: a notice about them alone is cancelled if they die or move.
    person_id: int | None = None


def _tier(tier: str) -> str:
    return {
        Tier.HIGH.value: _("High risk"),
        Tier.KEY.value: pgettext("visit tier", "Key"),
        Tier.GENERAL.value: _("General"),
    }[tier]


def _line(item: DueLine) -> str:
    if item.urgent:
        state = _("visit needed after a major event")
    elif item.overdue_days > 0:
        state = _("%(days)s days overdue", days=item.overdue_days)
    else:
        state = _("due %(date)s", date=item.next_due_on.isoformat())
    return f"· {item.name}（{item.village}，{_tier(item.tier)}）{state}"


def _listing(items: list[DueLine]) -> str:
    lines = [_line(i) for i in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(_("… and %(n)s more", n=len(items) - LIST_LIMIT))
    return "\n".join(lines)


def digest_prefix_all() -> str:
    """The start of the keys of every digest."""
    return "visit-digest:"


def digest_prefix(user_id: int, today: date | None = None) -> str:
    """The start of the keys of a visitor's digests (of ``today``, if given)."""
    return f"visit-digest:{user_id}:" + (today.isoformat() if today else "")


def digest(
    recipients: dict[int, str | None],
    items_by_user: dict[int, list[DueLine]],
    today: date,
    again: str = "",
    channels: dict[int, tuple[str, ...]] | None = None,
) -> list[Notice]:
    """One morning digest per visitor with something due: key per visitor and day. A digest
    written ``again`` (a person listed in it left: the copies still waiting were cancelled)
    has that word in its key and goes only to the ``channels`` whose copy was cancelled."""
    notices = []
    for user_id, items in items_by_user.items():
        overdue = sum(1 for i in items if i.overdue_days > 0 or i.urgent)
        with speaking(recipients.get(user_id)):
            subject = _(
                "Visits for %(date)s: %(overdue)s overdue, %(due)s due soon",
                date=today.isoformat(),
                overdue=overdue,
                due=len(items) - overdue,
            )
            body = _listing(items)
        notices.append(
            Notice(
                user_id=user_id,
                key=digest_prefix(user_id, today) + (f":{again}" if again else ""),
                subject=subject,
                body=body,
                link=app_link("visits.due"),
                channels=(channels or {}).get(user_id),
            )
        )
    return notices


def overdue(recipients: dict[int, str | None], pairs: Iterable[tuple[int, DueLine]]) -> list:
    """One reminder per visitor, plan and missed due date (or missed event deadline)."""
    notices = []
    for user_id, item in pairs:
        marker = item.missed or f"{item.next_due_on}"
        with speaking(recipients.get(user_id)):
            if item.urgent:
                subject = _("Overdue: visit %(name)s after the major event", name=item.name)
            else:
                subject = _("Overdue visit: %(name)s", name=item.name)
            body = _line(item)
        notices.append(
            Notice(
                user_id=user_id,
                key=f"visit-overdue:{item.target_id}:{marker}:{user_id}",
                subject=subject,
                body=body,
                link=app_link("visits.target", target_id=item.target_id),
                about_person_id=item.person_id,
            )
        )
    return notices


def escalation(
    recipients: dict[int, str | None], items_by_user: dict[int, list[DueLine]], today: date
) -> list[Notice]:
    """Township staff hear of the plans newly overdue past the county's limit; the key
    names the plans, so a second run the same day with new plans sends a second message."""
    notices = []
    for user_id, items in items_by_user.items():
        ids = ",".join(str(i.target_id) for i in sorted(items, key=lambda i: i.target_id))
        digest_of_ids = hashlib.sha256(ids.encode()).hexdigest()[:16]
        with speaking(recipients.get(user_id)):
            subject = _("Escalated: %(n)s overdue visits in your area", n=len(items))
            body = _listing(items)
        notices.append(
            Notice(
                user_id=user_id,
                key=f"visit-escalation:{user_id}:{today.isoformat()}:{digest_of_ids}",
                subject=subject,
                body=body,
                link=app_link("visits.targets", status="overdue"),
                # About one person: withdrawn if they leave before it is sent.
                about_person_id=items[0].person_id if len(items) == 1 else None,
            )
        )
    return notices


def event_reported(target: CareTarget, event: MajorEvent) -> int:
    """Tell every assigned visitor at once that a visit is needed within hours."""
    name = mask_name(target.person.name)
    notices = []
    for visitor in target.visitors:
        with speaking(visitor.locale):
            subject = _("Major event: visit %(name)s by %(time)s", name=name, time=_due(event))
            body = _(
                "%(kind)s reported for %(name)s. A visit is needed by %(time)s.",
                kind=event.kind_label,
                name=name,
                time=_due(event),
            )
        notices.append(
            Notice(
                user_id=visitor.id,
                key=f"visit-event:{event.id}:{visitor.id}",
                subject=subject,
                body=body,
                link=app_link("visits.target", target_id=target.id),
                about_person_id=target.person_id,
            )
        )
    return notify_many(notices)


def _due(event: MajorEvent) -> str:
    from eldercare.core.templating import local_time

    return local_time(event.visit_due_at)


def group(pairs: Iterable[tuple[int, DueLine]]) -> dict[int, list[DueLine]]:
    out: dict[int, list[DueLine]] = defaultdict(list)
    for user_id, item in pairs:
        out[user_id].append(item)
    return out


# --- still true when it finally goes? (``notifications.signals.still_true``) ---------------


def _notice_key(idempotency_key: str) -> list[str]:
    """The parts of the notice key the outbox row was written under (its channel dropped)."""
    return idempotency_key.rpartition(":")[0].split(":")


def _plan_gone(target: CareTarget | None) -> str | None:
    if target is None or not target.active:
        return "the visit plan has ended"
    if target.person.has_left:
        return "the person has died or moved away"
    return None


def _overdue_reason(target_id: str, marker: list[str]) -> str | None:
    target = db.session.get(CareTarget, int(target_id)) if target_id.isdigit() else None
    if gone := _plan_gone(target):
        return gone
    if marker[0] == "event":
        due = ":".join(marker[1:])
        still = target.urgent_due_at is not None and (
            target.urgent_due_at.isoformat(timespec="minutes") == due
        )
        return None if still else "the visit after the major event was made meanwhile"
    if target.next_due_on is None or target.next_due_on.isoformat() != marker[0]:
        return "a visit was made meanwhile: the plan is no longer overdue on that date"
    return None


def _event_reason(event_id: str) -> str | None:
    event = db.session.get(MajorEvent, int(event_id)) if event_id.isdigit() else None
    if event is None:
        return "the major event is no longer on record"
    if gone := _plan_gone(event.target):
        return gone
    if event.answered_by_visit_id:
        return "the visit after the major event was made meanwhile"
    return None


def stale_reason(idempotency_key: str, today: date) -> str | None:
    """Why a visit message waiting in the outbox is no longer true (plain text for the
    outbox's log), or None: an overdue reminder whose visit was made meanwhile, a major
    event's call answered, a plan ended or a person gone, a morning digest of a day past
    (the next morning's digest replaces it). Other messages: None."""
    parts = _notice_key(idempotency_key)
    kind, rest = parts[0], parts[1:]
    if kind == "visit-overdue" and len(rest) >= 3:
        return _overdue_reason(rest[0], rest[1:-1])
    if kind == "visit-event" and len(rest) == 2:
        return _event_reason(rest[0])
    if kind == "visit-digest" and len(rest) >= 2 and rest[1] < today.isoformat():
        return "a digest of a day past: that morning's list is out of date"
    return None
