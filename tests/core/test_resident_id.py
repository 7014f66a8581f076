"""Resident ID numbers (GB 11643): check digit, dates, area codes, derived facts, masking."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eldercare.core import resident_id
from eldercare.core.resident_id import InvalidResidentId, check_digit, mask, parse, synthesise

TODAY = date(2026, 6, 1)


def with_check(first17: str) -> str:
    return first17 + check_digit(first17)


# --- the check digit ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        # Worked example of GB 11643-1999 (appendix): 11010519491231002X.
        ("11010519491231002", "X"),
        # Computed independently with the 2^(17-i) mod 11 weights of ISO 7064.
        ("61030219500315001", "9"),
        ("44052418800101001", "4"),
        ("51010819790101001", "0"),
    ],
)
def test_check_digit_follows_iso_7064_mod_11_2(number, expected):
    assert check_digit(number) == expected


def test_check_digit_by_hand():
    """MOD 11-2 spelled out: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11."""
    first17 = "61030219500315001"
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    assert check_digit(first17) == ("X" if value == 10 else str(value))


def test_a_number_ending_in_x_is_valid():
    parsed = parse("11010519491231002X", today=TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)


def test_lower_case_x_and_spaces_are_normalised():
    parsed = parse(" 110105 19491231 002x ", today=TODAY)
    assert parsed.number == "11010519491231002X"


BAOJI_17 = "61030219500315001"


@pytest.mark.parametrize("wrong", [c for c in "0123456789X" if c != "9"])
def test_every_wrong_check_digit_is_refused(wrong):
    assert parse(BAOJI_17 + "9", today=TODAY)
    with pytest.raises(InvalidResidentId):
        parse(BAOJI_17 + wrong, today=TODAY)


def test_swapped_digits_are_caught_by_the_check_digit():
    good = with_check("61030219500315001")
    swapped = good[:15] + good[16] + good[15] + good[17:]  # sequence 001 -> 010
    assert swapped != good
    with pytest.raises(InvalidResidentId):
        parse(swapped, today=TODAY)


# --- shape -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "6103021950031500",  # 16
        "61030219500315001",  # 17: the check digit is missing
        "6103021950031500122",  # 19
        "610302500315001",  # an old 15-digit number
    ],
)
def test_wrong_length_is_refused(raw):
    with pytest.raises(InvalidResidentId) as info:
        parse(raw, today=TODAY)
    assert str(info.value)


@pytest.mark.parametrize(
    "raw",
    [
        "61030219500315A012",  # a letter inside
        "6103021950031500X2",  # X anywhere but last
        "61030219500315001Y",  # a letter other than X at the end
        "61030219500315-012",
    ],
)
def test_characters_other_than_digits_and_final_x_are_refused(raw):
    with pytest.raises(InvalidResidentId):
        parse(raw, today=TODAY)


@pytest.mark.parametrize(
    ("position", "lookalike"),
    [(0, "٦"), (8, "५"), (15, "٠"), (16, "¹"), (16, "①")],
)
def test_other_scripts_digits_are_refused(position, lookalike):
    """These pass str.isdigit() (and int() reads some of them) but are not ID digits."""
    good = with_check("61030219500315001")
    assert parse(good, today=TODAY)
    raw = good[:position] + lookalike + good[position + 1 :]
    with pytest.raises(InvalidResidentId):
        parse(raw, today=TODAY)


def test_full_width_input_is_read_as_ascii():
    """A Chinese input method types full-width digits, X and spaces; the stored number (and
    so its blind index) is the same as for ASCII input."""
    full_width = "１１０１０５　１９４９１２３１００２ｘ"
    assert parse(full_width, today=TODAY).number == "11010519491231002X"
    assert resident_id.normalise(full_width) == resident_id.normalise("11010519491231002x")


# --- the birth date ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "birth",
    ["19500230", "19500431", "19501301", "19500001", "19500100", "19490229", "00000101"],
)
def test_impossible_birth_dates_are_refused(birth):
    with pytest.raises(InvalidResidentId):
        parse(with_check(f"610302{birth}001"), today=TODAY)


def test_29_february_of_a_leap_year_is_fine():
    parsed = parse(with_check("61030219480229001"), today=TODAY)
    assert parsed.birth_date == date(1948, 2, 29)


def test_birth_date_in_the_future_is_refused():
    tomorrow = TODAY + timedelta(days=1)
    with pytest.raises(InvalidResidentId):
        parse(with_check(f"610302{tomorrow:%Y%m%d}001"), today=TODAY)


def test_born_today_is_accepted():
    assert parse(with_check(f"610302{TODAY:%Y%m%d}001"), today=TODAY).birth_date == TODAY


def test_age_over_120_is_refused_and_120_is_accepted():
    turns_121_today = date(TODAY.year - 121, TODAY.month, TODAY.day)
    oldest_accepted = turns_121_today + timedelta(days=1)  # still 120 years old today
    assert parse(with_check(f"610302{oldest_accepted:%Y%m%d}001"), today=TODAY)
    with pytest.raises(InvalidResidentId):
        parse(with_check(f"610302{turns_121_today:%Y%m%d}001"), today=TODAY)


def test_today_defaults_to_the_real_date():
    next_year = date.today().year + 1
    with pytest.raises(InvalidResidentId):
        parse(with_check(f"610302{next_year}0101001"))


# --- area codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [
        "00",
        "10",
        "19",
        "20",
        "30",
        "39",
        "47",
        "55",
        "60",
        "66",
        "70",
        "72",
        "80",
        "84",
        "90",
        "99",
    ],
)
def test_unknown_province_prefix_is_refused(prefix):
    with pytest.raises(InvalidResidentId):
        parse(with_check(f"{prefix}030219500315001"), today=TODAY)


@pytest.mark.parametrize("prefix", ["11", "46", "50", "54", "65", "71", "81", "82", "83"])
def test_every_province_level_prefix_is_known(prefix):
    assert parse(with_check(f"{prefix}010119500315001"), today=TODAY).area_code.startswith(prefix)


def test_old_county_code_of_fengxiang_is_accepted():
    """凤翔县 610322 became 凤翔区 610305 in 2021; numbers keep the code they were issued with."""
    parsed = parse(with_check("61032219500601002"), today=TODAY)
    assert parsed.area_code == "610322"


def test_county_code_that_did_not_exist_in_the_birth_year_is_accepted():
    """凤翔区 610305 only exists since 2021, but a person born in 1950 may hold it (re-issued)."""
    assert parse(with_check("61030519500601002"), today=TODAY).area_code == "610305"


def test_never_existing_county_inside_a_known_province_is_accepted():
    """Only the province is checked: the county list of every year is not available offline."""
    assert parse(with_check("61999919500601002"), today=TODAY).area_code == "619999"


# --- derived facts -----------------------------------------------------------------------


def test_birth_date_and_sex_are_derived():
    male = parse(with_check("61030219500315001"), today=TODAY)
    assert male.birth_date == date(1950, 3, 15)
    assert male.sex == "M"
    female = parse(with_check("61030219500315002"), today=TODAY)
    assert female.sex == "F"
    assert female.area_code == "610302"


@pytest.mark.parametrize(("digit", "sex"), [(str(d), "M" if d % 2 else "F") for d in range(10)])
def test_the_17th_digit_gives_the_sex(digit, sex):
    assert parse(with_check(f"6103021950031500{digit}"), today=TODAY).sex == sex


def test_age_on_counts_whole_years():
    born = date(1950, 3, 15)
    assert resident_id.age_on(born, date(2026, 3, 14)) == 75
    assert resident_id.age_on(born, date(2026, 3, 15)) == 76


# --- masking -----------------------------------------------------------------------------


def test_mask_shows_only_the_first_three_and_the_check_character():
    assert mask("61032219500601123X") == "610**************X"
    assert len(mask("61032219500601123X")) == 18


def test_parsed_number_is_masked_the_same_way():
    parsed = parse("11010519491231002X", today=TODAY)
    assert parsed.masked == "110**************X"
    assert "19491231" not in parsed.masked


@pytest.mark.parametrize(("raw", "masked"), [(None, ""), ("", ""), ("1234", "****")])
def test_mask_of_short_or_missing_values_shows_nothing(raw, masked):
    assert mask(raw) == masked


# --- synthesis ---------------------------------------------------------------------------

PROVINCES = sorted(resident_id.PROVINCE_CODES)


@given(
    province=st.sampled_from(PROVINCES),
    county=st.integers(min_value=0, max_value=9999),
    born=st.dates(min_value=date(TODAY.year - 120, 12, 31), max_value=TODAY),
    sex=st.sampled_from(["M", "F"]),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_synthesised_numbers_are_always_valid(province, county, born, sex, seed):
    area = f"{province}{county:04d}"
    number = synthesise(area, born, sex, random.Random(seed))
    parsed = parse(number, today=TODAY)
    assert parsed.number == number
    assert parsed.area_code == area
    assert parsed.birth_date == born
    assert parsed.sex == sex


def test_synthesis_is_reproducible_from_the_seed():
    a = synthesise("610302", date(1950, 1, 1), "F", random.Random(7))
    b = synthesise("610302", date(1950, 1, 1), "F", random.Random(7))
    assert a == b


def test_masked_number_cannot_be_rebuilt_from_what_lists_show():
    """Lists show the masked number and an age or birth date, and the area gives the county;
    the mask must still leave many candidates (the old 'last four' mask left one)."""
    number = "61030219500315241X"
    county, born = number[:6], number[6:14]
    shown = mask(number)
    candidates = [
        first17 + check_digit(first17)
        for seq in range(1000)
        for first17 in [f"{county}{born}{seq:03d}"]
        if mask(first17 + check_digit(first17)) == shown
    ]
    assert number in candidates
    assert len(candidates) >= 50
