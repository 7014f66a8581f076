"""Resident ID numbers (GB 11643-1999): validation, derived facts, masking, synthesis."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from eldercare.core.db import local_today

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Province-level prefixes of GB/T 2260 (incl. 71 Taiwan, 81/82 HK/Macao, 83 residence permits).
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)
MAX_AGE_YEARS = 120
#: ASCII only: str.isdigit() also accepts other scripts' digits (٠, ¹), which int() may read.
SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# A Chinese input method types full-width digits, X and spaces: read them as ASCII.
_FULL_WIDTH = str.maketrans(
    {chr(0xFF10 + i): str(i) for i in range(10)} | {"Ｘ": "X", "ｘ": "X", "\u3000": " "}
)


class InvalidResidentId(ValueError):
    """The number is not a valid resident ID; ``message`` says why, translated."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class ResidentId:
    number: str
    area_code: str
    birth_date: date
    sex: str  # "M" or "F"

    @property
    def masked(self) -> str:
        return mask(self.number)


def check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise(raw: str) -> str:
    """Upper-case ASCII without spaces; full-width characters become their ASCII twins."""
    return (raw or "").translate(_FULL_WIDTH).strip().replace(" ", "").upper()


def parse(raw: str, today: date | None = None) -> ResidentId:
    """Validate an 18-character ID and return what it says.

    The area code is checked only at province level: the first six digits are the county
    code in force when the number was issued, and counties are renamed and merged, so any
    code that ever existed must be accepted.
    """
    today = today or local_today()
    number = normalise(raw)
    if len(number) != 18:
        raise InvalidResidentId(
            _l("An ID number has 18 characters; this one has %(n)s.", n=len(number))
        )
    if not SHAPE.fullmatch(number):
        raise InvalidResidentId(_l("An ID number is 17 digits followed by a digit or X."))
    if number[:2] not in PROVINCE_CODES:
        raise InvalidResidentId(_l("The first two digits are not a province code."))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidResidentId(_l("The birth date inside the ID number does not exist.")) from None
    if born > today:
        raise InvalidResidentId(_l("The birth date inside the ID number is in the future."))
    if age_on(born, today) > MAX_AGE_YEARS:
        raise InvalidResidentId(
            _l("The birth date inside the ID number gives an age over %(n)s.", n=MAX_AGE_YEARS)
        )
    if check_digit(number[:17]) != number[17]:
        raise InvalidResidentId(_l("The check digit is wrong: please check the number."))
    sex = "M" if int(number[16]) % 2 else "F"
    return ResidentId(number=number, area_code=number[:6], birth_date=born, sex=sex)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def mask(number: str | None) -> str:
    """Show the first three digits and the check character only: 610**************X.

    The common "last four" mask is not enough here: lists also show the age or birth date,
    and with the county known, the last four digits leave a single candidate number.
    """
    if not number:
        return ""
    if len(number) < 8:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 4) + number[-1:]


def synthesise(area_code: str, born: date, sex: str, rng: random.Random) -> str:
    """A syntactically valid ID for demo and test data (sequence digits from ``rng``)."""
    seq = rng.randrange(0, 100)
    sex_digit = rng.choice("13579" if sex == "M" else "02468")
    first17 = f"{area_code}{born:%Y%m%d}{seq:02d}{sex_digit}"
    return first17 + check_digit(first17)
