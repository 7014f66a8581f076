"""What the server enforces that JSON Schema cannot say (a check digit, "not in the
future", a region inside the caller's area), written into the OpenAPI document so that it
tells clients: each such field carries ``x-enforced`` (a list of rules) and the rules again in
its description. A rule comes from the field's ``metadata={"enforced": ...}`` or from a
validator marked with ``@rule``. Required text also says it cannot be empty (``minLength``):
blank text is read as missing."""

from __future__ import annotations

from collections.abc import Callable

from marshmallow import fields


def rule(text: str) -> Callable:
    """Mark a validator function with the rule it enforces, for the document."""

    def mark(validator: Callable) -> Callable:
        validator.openapi_rule = text
        return validator

    return mark


def rules_of(field: fields.Field) -> list[str]:
    found = []
    declared = field.metadata.get("enforced")
    if declared:
        found.extend([declared] if isinstance(declared, str) else declared)
    for validator in field.validators:
        text = getattr(validator, "openapi_rule", None)
        if text and text not in found:
            found.append(text)
    return found


def _in_input_schema(field: fields.Field) -> bool:
    from eldercare.core.schemas import InputSchema

    parent = field.parent
    while isinstance(parent, fields.Field):
        parent = parent.parent
    return isinstance(parent, InputSchema)


def enforced_rules(self, field: fields.Field, ret: dict, **kwargs) -> dict:
    """apispec attribute function (see ``install``)."""
    if not _in_input_schema(field):
        return {}
    extra: dict = {}
    if (
        isinstance(field, fields.String)
        and field.required
        and "enum" not in ret
        and ret.get("minLength", 0) < 1
    ):
        extra["minLength"] = 1
    found = rules_of(field)
    if found:
        extra["x-enforced"] = found
        described = ret.get("description") or field.metadata.get("description")
        extra["description"] = " ".join(filter(None, [described, *found]))
    return extra


def install(api) -> None:
    """Add the attribute function to the Api's marshmallow plugin (after ``init_app``)."""
    api.ma_plugin.converter.add_attribute_function(enforced_rules)
