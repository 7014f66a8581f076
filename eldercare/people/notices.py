"""The notices of family links: staff who can verify a request hear it is waiting, the family
member hears the decision. Each in its recipient's language, worded for them, never with an
ID number, and keyed so that a request or a decision is told once."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import gettext as _

from eldercare.auth.models import User
from eldercare.core.i18n import speaking
from eldercare.core.permissions import Role
from eldercare.extensions import db
from eldercare.notifications.operations import Notice, app_link
from eldercare.people.models import LinkStatus

if TYPE_CHECKING:
    from eldercare.people.models import FamilyLink, Person

#: Anything that looks like a resident ID number (or most of one) in a note typed by staff.
ID_LIKE = re.compile(r"\d{14,17}[\dXx]")


def without_id_numbers(text: str) -> str:
    """``text`` with every run of digits that could be an ID number masked: a decision note
    is free text, and a notice may go out by SMS or e-mail."""
    return ID_LIKE.sub(lambda m: m.group()[:3] + "*" * (len(m.group()) - 5) + m.group()[-2:], text)


def verifiers_of(person: Person) -> list[User]:
    """The accounts that can verify a request about ``person`` and should hear of it: the
    township staff of the person's township and the operators of the facilities caring for
    them (residents and day-care members). County staff can verify too, but a request is the
    township's daily work: the county is not told of each one."""
    region = person.region
    chain = [r.id for r in (*region.ancestors(), region)]
    # The beds' and day-care's tables named as plain tables: the registry does not import them.
    stay = sa.table(
        "stay", sa.column("person_id"), sa.column("facility_id"), sa.column("discharged_on")
    )
    member = sa.table(
        "daycare_member", sa.column("person_id"), sa.column("facility_id"), sa.column("left_on")
    )
    caring = sa.union(
        sa.select(stay.c.facility_id).where(
            stay.c.person_id == person.id, stay.c.discharged_on.is_(None)
        ),
        sa.select(member.c.facility_id).where(
            member.c.person_id == person.id, member.c.left_on.is_(None)
        ),
    )
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.active.is_(True),
                sa.or_(
                    sa.and_(
                        User.role == Role.TOWNSHIP_STAFF.value,
                        User.region_id.in_(chain),
                    ),
                    sa.and_(User.role == Role.OPERATOR.value, User.facility_id.in_(caring)),
                ),
            )
            .order_by(User.id)
        )
    )


def waiting(link: FamilyLink, request_number: int) -> list[Notice]:
    """To each verifier, once per request (``request_number``, the request's audit entry,
    tells a request made again after a refusal from the first one)."""
    person = link.person
    family = link.user
    out = []
    for user in verifiers_of(person):
        with speaking(user.locale):
            out.append(
                Notice(
                    user_id=user.id,
                    key=f"family-link-waiting:{link.id}:{request_number}:{user.id}",
                    subject=_("A family link is waiting: %(name)s", name=person.name),
                    body=_(
                        "%(family)s asks to be linked to %(name)s (%(area)s) as a relative."
                        " Please check the relationship and verify or refuse the request.",
                        family=family.display_name or family.username,
                        name=person.name,
                        area=person.region.full_name,
                    ),
                    link=app_link("people.links"),
                )
            )
    return out


def decided(link: FamilyLink, decision_number: int) -> list[Notice]:
    """To the family member who asked: verified, refused or revoked, with the note if any
    (``decision_number``, the decision's audit entry, keys it: each decision is told once)."""
    person = link.person
    note = without_id_numbers(link.decision_note or "").strip()
    with speaking(link.user.locale):
        if link.status == LinkStatus.VERIFIED.value:
            subject = _("Your link to %(name)s is verified", name=person.name)
            body = _(
                "You are now linked to %(name)s: you can see their stay, visits and subsidies"
                " and book services for them.",
                name=person.name,
            )
            target = app_link("people.show", person_id=person.id)
        elif link.status == LinkStatus.REJECTED.value:
            subject = _("Your link to %(name)s was not verified", name=person.name)
            body = _(
                "Your request to be linked to %(name)s was not verified. You can ask again"
                " with corrected details, or contact the township office.",
                name=person.name,
            )
            target = app_link("people.link_request")
        else:
            subject = _("Your link to %(name)s was withdrawn", name=person.name)
            body = _(
                "The civil-affairs office withdrew your link to %(name)s: you no longer see"
                " their details. Contact the township office if this is a mistake.",
                name=person.name,
            )
            target = app_link("home.index")
        if note:
            body = f"{body} {_('Note: %(note)s', note=note)}"
    return [
        Notice(
            user_id=link.user_id,
            key=f"family-link-decided:{link.id}:{decision_number}",
            subject=subject,
            body=body,
            link=target,
        )
    ]
