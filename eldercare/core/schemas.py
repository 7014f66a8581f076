"""Marshmallow base schema shared by HTML forms and JSON bodies, and form helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from werkzeug.datastructures import MultiDict

from eldercare.core.db import MAX_ID
from eldercare.core.i18n import plain_messages

# Control characters other than tab and line breaks: never meaningful in our text, and a NUL
# is refused by PostgreSQL itself.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InputSchema(Schema):
    """Trims text, refuses control characters, treats empty strings as missing values,
    ignores unknown keys (csrf_token)."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _clean(self, data, **kwargs):
        if isinstance(data, MultiDict):
            data = {
                key: (data.getlist(key) if self._is_list(key) else data.get(key)) for key in data
            }
        elif isinstance(data, Mapping) and not isinstance(data, dict):
            # webargs hands the API's query string over as a MultiDictProxy (a list field's
            # values as a list): it is checked like a form.
            data = {key: data[key] for key in data}
        if not isinstance(data, dict):
            return data
        cleaned, bad = {}, {}
        for key, value in data.items():
            if isinstance(value, list) and any(
                isinstance(item, str) and CONTROL_CHARACTERS.search(item) for item in value
            ):
                bad[key] = [_l("Contains characters that cannot be stored.")]
            if isinstance(value, str):
                if CONTROL_CHARACTERS.search(value):
                    bad[key] = [_l("Contains characters that cannot be stored.")]
                value = value.strip()
                if value == "":
                    # An HTML checkbox sent with an empty value is unticked.
                    is_flag = isinstance(self.fields.get(key), fields.Boolean)
                    value = False if is_flag and self.context_form else None
            cleaned[key] = value
        if bad:
            raise ValidationError(bad)
        # Unticked HTML checkboxes send nothing: they mean False.
        for name, field in self.fields.items():
            if isinstance(field, fields.Boolean) and name not in cleaned and self.context_form:
                cleaned[name] = False
        return {k: v for k, v in cleaned.items() if v is not None or self._nullable(k)}

    context_form = False

    def _is_list(self, key: str) -> bool:
        return isinstance(self.fields.get(key), fields.List)

    def _nullable(self, key: str) -> bool:
        field = self.fields.get(key)
        return field is not None and field.allow_none


def load_form(schema: InputSchema, formdata: MultiDict) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate an HTML form with the same schema the API uses: (data, errors)."""
    schema.context_form = True
    try:
        return schema.load(formdata), {}
    except ValidationError as err:
        return {}, {field: _flat(m) for field, m in plain_messages(err.messages).items()}


def _flat(messages) -> list[str]:
    """A page shows a field's messages as a list; a list field's errors come keyed by the
    position of the bad item ({"1": ["..."]}): the messages themselves, once each."""
    if isinstance(messages, dict):
        out: list[str] = []
        for value in messages.values():
            out.extend(m for m in _flat(value) if m not in out)
        return out
    return list(messages)


def choice(values, **kwargs) -> fields.String:
    """A string field limited to ``values`` with a translated message."""
    return fields.String(
        validate=validate.OneOf(
            [str(v) for v in values], error=_l("Not one of the allowed choices.")
        ),
        **kwargs,
    )


def id_field(**kwargs) -> fields.Integer:
    """A reference to a row by its id: a whole number in the range of an id column."""
    return fields.Integer(
        strict=False,
        validate=validate.Range(min=1, max=MAX_ID, error=_l("The page or record was not found.")),
        **kwargs,
    )


class PageArgs(InputSchema):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=100000, error=_l("Page must be between 1 and 100000.")),
    )
    per_page = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200, error=_l("Page size must be between 1 and 200.")),
    )


#: Yuan as typed: digits with optional thousands separators, an optional fraction.
_MONEY_TEXT = re.compile(r"^(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?$")


class Money(fields.Field):
    """Money typed in yuan ("180", "1,280.5", "0.30", or a JSON number), loaded as integer fen.

    The one money input of the app: parsed as text, never through a float (0.29 yuan is 29
    fen, not 28), and never rounded: three decimals (12.345) are refused with a message that
    says so, not read as 12.34 or 12.35. ``max_fen`` is the most it accepts."""

    #: What the fuzz and schema-walk tests look for: this field holds money.
    is_money = True

    def __init__(self, *, max_fen: int = 100_000_000, **kwargs):
        # What the OpenAPI document says of it (a number is accepted too).
        metadata = {
            "type": "string",
            "pattern": r"^\d+(\.\d{1,2})?$",
            "description": "Yuan with at most two decimals (kept as integer fen).",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)
        self.max_fen = max_fen

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ValidationError(_l("Type an amount in yuan, for example 180 or 180.50."))
        text = str(value).strip().replace("，", ",")
        negative = text.startswith("-")
        match = _MONEY_TEXT.match(text.removeprefix("-").strip())
        if match is None:
            raise ValidationError(_l("Type an amount in yuan, for example 180 or 180.50."))
        fraction = match.group("fraction") or ""
        if len(fraction) > 2:
            raise ValidationError(
                _l(
                    "%(typed)s has more than two decimals: money is counted to the fen."
                    " Type at most two decimals, for example %(example)s.",
                    typed=text,
                    example=f"{match.group('whole')}.{fraction[:2]}",
                )
            )
        fen = int(match.group("whole").replace(",", "")) * 100 + int(fraction.ljust(2, "0"))
        if negative and fen:
            raise ValidationError(_l("An amount cannot be negative."))
        if fen > self.max_fen:
            raise ValidationError(
                _l(
                    "At most %(most)s yuan.",
                    most=f"{self.max_fen // 100:,}"
                    + (f".{self.max_fen % 100:02d}" if self.max_fen % 100 else ""),
                )
            )
        return fen

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value // 100}.{value % 100:02d}"
