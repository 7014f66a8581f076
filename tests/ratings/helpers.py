"""Sample files (told by their first bytes) and small helpers of the ratings tests."""

from __future__ import annotations

from decimal import Decimal

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(200)
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


def stored_files(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def full_marks(application, failing: str | None = None) -> dict:
    entries = {}
    for section in application.round.scheme.sections:
        for item in section.items:
            if item.must_have:
                entries[item.id] = {"met": item.code != failing}
            else:
                entries[item.id] = {"points": Decimal(item.max_points)}
    return entries


def first_item(application):
    return application.round.scheme.sections[0].items[0]
