"""Shared helpers for the registry tests: ID numbers, row counts, form errors in HTML."""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from eldercare.core import resident_id
from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.people.models import AbilityAssessment, FamilyLink, Person

ID_PATTERN = re.compile(r"\d{17}[\dX]")
INVALID_FIELD = re.compile(r'class="form-(?:control|select) is-invalid" id="f-([a-z_]+)"')
CJK = re.compile("[\u4e00-\u9fff]")


def with_check_digit(first17: str) -> str:
    return first17 + resident_id.check_digit(first17)


def wrong_check_digit(number: str) -> str:
    right = number[17]
    wrong = next(c for c in "0123456789X" if c != right)
    return number[:17] + wrong


def id_ending_in_x(area: str = "610302", born: date = date(1948, 6, 1)) -> str:
    """A valid ID number whose check character is X (to test lower-case input)."""
    for seq in range(1000):
        first17 = f"{area}{born:%Y%m%d}{seq:03d}"
        if resident_id.check_digit(first17) == "X":
            return first17 + "X"
    raise AssertionError("no X check digit found")


def invalid_ids() -> dict[str, str]:
    """One ID number per reason for refusal."""
    next_year = date.today().year + 1
    return {
        "bad_check_digit": wrong_check_digit(with_check_digit("61030219500315123")),
        "impossible_date": with_check_digit("61030219500230123"),
        "future_birth": with_check_digit(f"610302{next_year}0101123"),
        "over_120": with_check_digit("61030218800101123"),
        "too_short": "61030219500315",
        "letters": with_check_digit("61030219500315123")[:-1] + "A",
        "unknown_province": with_check_digit("99030219500315123"),
    }


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def row_counts() -> dict[str, int]:
    """Rows of every table a registry request may write."""
    return {m.__tablename__: count(m) for m in (Person, AuditLog, AbilityAssessment, FamilyLink)}


def audit_entries(action: str, entity_id: int | None = None) -> list[AuditLog]:
    db.session.expire_all()
    stmt = sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    return list(db.session.scalars(stmt))


def invalid_fields(html: str) -> set[str]:
    """Names of the form fields the page marks as invalid."""
    return set(INVALID_FIELD.findall(html))


def years_ago(years: int, today: date | None = None) -> date:
    today = today or local_today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def tomorrow() -> date:
    """The county's tomorrow, as the app sees it."""
    return local_today() + timedelta(days=1)
