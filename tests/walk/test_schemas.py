"""Every input schema of the app, fed what people and programs really send wrong: each
refusal is a list of whole Chinese sentences (never single characters, never marshmallow's
English), and no input makes a schema fail with anything but a refusal.

The schemas are found by importing the package, so a schema added later is tried too."""

from __future__ import annotations

import importlib
import pkgutil
import re

from marshmallow import Schema, ValidationError, fields

import eldercare

CJK = re.compile(r"[\u4e00-\u9fff]")
#: Developer tools, not the application: never imported by a web worker.
TOOLS = re.compile(r"^eldercare\.(devtools|serve)\b")


def all_schemas() -> list[type[Schema]]:
    for module in pkgutil.walk_packages(eldercare.__path__, "eldercare."):
        if not TOOLS.search(module.name):
            importlib.import_module(module.name)
    found, todo = [], list(Schema.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("eldercare.") and not TOOLS.search(cls.__module__):
            found.append(cls)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def wrong_values(field: fields.Field) -> list[object]:
    """What a person mistypes or a client sends wrong for a field of this kind."""
    if isinstance(field, fields.Boolean):
        return ["perhaps", 7]
    if isinstance(field, fields.Integer | fields.Float | fields.Decimal):
        return ["十二", "1e400", -(10**12), 10**15, "12.345"]
    if isinstance(field, fields.DateTime):
        return ["yesterday", "2999-01-01T00:00:00", "1800-01-01T00:00:00"]
    if isinstance(field, fields.Date):
        return ["2026-13-45", "2999-01-01", "1800-01-01", 20261201]
    if isinstance(field, fields.Time):
        return ["25:99", "noon"]
    if isinstance(field, fields.List):
        return ["not a list", [None], [{"x": 1}], ["长" * 3000]]
    if isinstance(field, fields.Nested):
        return ["not an object", [1, 2]]
    if isinstance(field, fields.Dict):
        return ["not a mapping"]
    return ["长" * 5000, 12, ["a", "b"], "x\x01y", ""]


def messages_of(messages, out: list[str]) -> list[str]:
    if isinstance(messages, dict):
        for value in messages.values():
            messages_of(value, out)
    elif isinstance(messages, list | tuple):
        for value in messages:
            messages_of(value, out)
    else:
        out.append(messages)
    return out


def test_the_schemas_are_found():
    names = {cls.__name__ for cls in all_schemas()}
    assert {"PersonSchema", "RegisterSchema", "LoginSchema"} <= names
    assert len(names) > 80


def test_every_schema_refuses_wrong_input_in_whole_chinese_sentences(app, world):
    problems = []
    for cls in all_schemas():
        try:
            schema = cls()
        except TypeError:
            continue  # built with arguments by its view (a context); tried through the forms
        loadable = {n: f for n, f in schema.fields.items() if not f.dump_only}
        tries = [{}] + [
            {field.data_key or name: value}
            for name, field in loadable.items()
            for value in wrong_values(field)
        ]
        for data in tries:
            with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
                try:
                    schema.load(data)
                except ValidationError as err:
                    for message in messages_of(err.messages, []):
                        text = str(message)
                        if len(text) <= 1 or not CJK.search(text):
                            problems.append(
                                f"{cls.__module__}.{cls.__name__} {data!r:.80}: {text!r}"
                            )
                except Exception as error:  # a 500 waiting for its request
                    problems.append(f"{cls.__module__}.{cls.__name__} {data!r:.80}: {error!r}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_message_marshmallow_can_give_is_translated(app):
    """marshmallow's own messages (its fields' and validators') are ours, in Chinese."""
    import inspect

    from marshmallow import validate

    field_classes = [c for _n, c in inspect.getmembers(fields, inspect.isclass)]
    messages = {}
    for cls in field_classes:
        if issubclass(cls, fields.Field):
            for klass in reversed(cls.__mro__):
                for key, text in vars(klass).get("default_error_messages", {}).items():
                    messages[f"{cls.__name__}.{key}"] = text
    for name, cls in inspect.getmembers(validate, inspect.isclass):
        for key, text in vars(cls).items():
            if key == "default_message" or key.startswith("message_"):
                messages[f"{name}.{key}"] = text
    ranges = [validate.Range(min=1), validate.Range(max=2), validate.Range(min=1, max=2)]
    for n, bounded in enumerate(ranges):
        for key in ("message_min", "message_max", "message_all"):
            messages[f"Range{n}.{key}"] = getattr(bounded, key)
    english = {}
    with app.test_request_context("/"):
        for where, text in messages.items():
            if not isinstance(text, str) and not hasattr(text, "_func"):
                continue  # not a message (a flag such as Range's inclusivity)
            if key_is_operator(where):
                continue
            if not CJK.search(str(text)):
                english[where] = str(text)
    assert not english, english


def key_is_operator(where: str) -> bool:
    """Range's class templates and words for its operators ("greater than"): never shown,
    each Range made has whole translated sentences (tried above as Range0, Range1...)."""
    return where.startswith("Range.")
