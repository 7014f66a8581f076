"""Masking of phone numbers and names for lists, exports and audit entries."""

from __future__ import annotations

import pytest

from eldercare.core.masking import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "+86*******5678"),
        ("0917-3212345", "091*****2345"),
        ("3212345", "*****45"),
        ("12345", "***45"),
        ("1234", "****"),
        (" 13812345678 ", "138****5678"),
        (None, ""),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("length", range(1, 21))
def test_mask_phone_always_hides_at_least_four_characters(length):
    phone = "9876543210987654321012"[:length]
    masked = mask_phone(phone)
    assert len(masked) == length
    assert masked.count("*") >= min(4, length - 2) and "*" in masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张秀英", "张*英"),
        ("欧阳秀英", "欧**英"),
        ("李明", "李*"),
        ("王", "王"),
        (None, ""),
        ("", ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_id_number_mask_is_the_resident_id_mask():
    assert mask_id_number("61032219500601005X") == "610**************X"
