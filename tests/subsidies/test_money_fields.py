"""Every money input of the app is the one money field (core.schemas.Money): three decimals
are refused with a message, never rounded, wherever money is typed (rule tables, bed prices,
service prices, meal prices, county settings)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from marshmallow import Schema, ValidationError

import eldercare
from eldercare.core.schemas import Money

#: Words that make a field money, in its name, data key or attribute.
MONEY_WORDS = ("price", "amount", "fen", "yuan")
#: Fields with a money word that are not money typed to be kept, and why.
NOT_MONEY = {
    # The public search's price filters are whole yuan bounds of a search, not an amount
    # kept: 12.345 is refused there as 'not a valid price' too (an integer).
    ("VacancySearch", "min_price"),
    ("VacancySearch", "max_price"),
}


def _schemas() -> list[type[Schema]]:
    for module in pkgutil.walk_packages(eldercare.__path__, "eldercare."):
        if module.name.rsplit(".", 1)[-1] in ("schemas", "views", "api", "report_views"):
            importlib.import_module(module.name)
    found, todo = set(), [Schema]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(
        (s for s in found if s.__module__.startswith("eldercare.")),
        key=lambda s: (s.__module__, s.__name__),
    )


def _money_like(name: str, field) -> bool:
    names = (name, field.data_key or "", field.attribute or "")
    return any(word in n.lower() for n in names for word in MONEY_WORDS)


def _fields():
    out = []
    for schema in _schemas():
        for name, field in schema._declared_fields.items():
            if isinstance(field, Money) or _money_like(name, field):
                out.append((schema, name, field))
    return out


def test_the_walk_finds_the_money_inputs(app):
    names = {(s.__name__, n) for s, n, _f in _fields()}
    assert ("RuleRowSchema", "amount_fen") in names
    assert any(schema.endswith("BedSchema") or "Bed" in schema for schema, _n in names)
    assert any(n == "price_fen" for _s, n in names)  # a booking service's price
    assert any(n == "meal_price_fen" for _s, n in names)
    assert len(names) >= 6


@pytest.mark.parametrize("typed", ["12.345", "0.001", "1,280.505", 12.345])
def test_every_money_field_refuses_three_decimals_with_a_message(app, typed):
    with app.test_request_context("/?lang=zh_Hans_CN"):
        for schema, name, field in _fields():
            if (schema.__name__, name) in NOT_MONEY:
                continue
            assert isinstance(field, Money), f"{schema.__name__}.{name} is not the money field"
            with pytest.raises(ValidationError) as refused:
                field.deserialize(typed)
            message = str(refused.value.messages[0])
            assert "两位小数" in message, (schema.__name__, name, message)


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("12.34", 1234), ("0.29", 29), ("1,280.5", 128050), (180, 18000), (0.3, 30), ("-0", 0)],
)
def test_money_is_read_exactly(app, typed, fen):
    assert Money().deserialize(typed) == fen


@pytest.mark.parametrize("typed", ["-1", "abc", "1e3", "nan", "Infinity", True, "12.3.4"])
def test_what_is_not_money_is_refused(app, typed):
    with pytest.raises(ValidationError):
        Money().deserialize(typed)


def test_the_page_says_what_is_wrong_with_three_decimals_and_keeps_them(world, client, auth):
    from tests.subsidies.helpers import make_program

    program = make_program(world)
    auth.login_as(world.user("county_staff"))
    response = client.post(
        f"/subsidies/programs/{program.id}/rules",
        data={"effective_from": "2027-01", "rules-0-min_age": "80", "rules-0-amount": "12.345"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "12.345 超过两位小数" in page and "12.34" in page
    assert 'value="12.345"' in page
