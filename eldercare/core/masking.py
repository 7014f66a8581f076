"""Masking of personal data for lists, exports and audit entries."""

from __future__ import annotations

from eldercare.core.resident_id import mask as mask_id_number

__all__ = ["mask_id_number", "mask_name", "mask_phone"]


def mask_phone(phone: str | None) -> str:
    """138****1234: the carrier prefix and the last four digits."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep = 3 if len(digits) >= 11 else 1
    return digits[:keep] + "*" * (len(digits) - keep - 4) + digits[-4:]


def mask_name(name: str | None) -> str:
    """张*华: first and last character of a Chinese name."""
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
