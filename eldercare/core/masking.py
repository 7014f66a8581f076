"""Masking of personal data for lists, exports and audit entries."""

from __future__ import annotations

from eldercare.core.resident_id import mask as mask_id_number

__all__ = ["mask_id_number", "mask_name", "mask_phone"]


def mask_phone(phone: str | None) -> str:
    """138****1234: a mobile's carrier prefix and last four digits. At least four characters
    are always hidden (a short number shows only its last two), so none is shown whole."""
    if not phone:
        return ""
    digits = phone.strip()
    n = len(digits)
    head = 3 if n >= 11 else 0
    tail = 4 if n >= 8 else 2 if n >= 5 else 0
    return digits[:head] + "*" * (n - head - tail) + digits[n - tail :]


def mask_name(name: str | None) -> str:
    """张*华: first and last character of a Chinese name."""
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
