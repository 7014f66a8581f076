"""Locale selection and Chinese messages for marshmallow's built-in validation errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from flask import current_app, g, has_request_context, request, session
from flask_babel import LazyString, force_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

DEFAULT_LOCALE = "zh_Hans_CN"


def select_locale() -> str:
    """Query string, then the session, then the user's choice; Chinese unless asked."""
    if not has_request_context():  # CLI commands and scheduled jobs speak the default
        return DEFAULT_LOCALE
    supported = current_app.config["LANGUAGES"]
    wanted = request.args.get("lang") or session.get("lang")
    if not wanted and current_user and getattr(current_user, "is_authenticated", False):
        wanted = current_user.locale
    if not wanted and request.path.startswith("/api/") and request.headers.get("Accept-Language"):
        match = request.accept_languages.best_match(["zh", "en"])
        wanted = "en" if match == "en" else DEFAULT_LOCALE
    return wanted if wanted in supported else DEFAULT_LOCALE


@contextmanager
def speaking(locale: str | None) -> Iterator[None]:
    """Translate in a recipient's language (their account's choice, Chinese by default)
    while writing a message for them, in a request of someone else's or in a job."""
    if locale not in current_app.config["LANGUAGES"]:
        locale = DEFAULT_LOCALE
    g.setdefault("_speaking", True)  # flask-babel's force_locale does nothing while g is empty
    with force_locale(locale):
        yield


def _translations():
    """flask-babel's ``get_translations()``, remembered for the locale in force.

    flask-babel looks the context, the domain and the locale up again on every call: some
    17 µs, and a search page translates some 200 strings. The catalogue it returns is kept on
    flask-babel's own per-context namespace with the locale and domain objects it was found
    for; ``force_locale`` (a notice written in its recipient's language) swaps the locale
    object, so a forced or restored locale looks its catalogue up anew."""
    state = vars(g.get("_flask_babel") or SimpleNamespace()) if g else {}
    key = (state.get("babel_locale"), state.get("babel_domain"))
    memo = state.get("eldercare_translations")
    if memo is not None and memo[0] is key[0] and memo[1] is key[1]:
        return memo[2]
    translations = get_translations()  # sets babel_locale on the namespace if it was not
    state = vars(g.get("_flask_babel") or SimpleNamespace()) if g else {}
    if state.get("babel_locale") is not None:
        state["eldercare_translations"] = (
            state["babel_locale"],
            state.get("babel_domain"),
            translations,
        )
    return translations


def install_template_gettext(app) -> None:
    """Templates translate through ``_translations`` (after ``babel.init_app``)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )


def html_lang(locale: str) -> str:
    return "zh-CN" if locale.startswith("zh") else locale


def as_messages(value: Any) -> Any:
    """A field's messages as a list (nested dicts kept): one text, plain or lazy, is one
    message. marshmallow and a ``for`` loop both take a lazy string, which is not a ``str``,
    for a sequence and split it into single characters."""
    if isinstance(value, str | LazyString):
        return [value]
    if isinstance(value, dict):
        return {key: as_messages(item) for key, item in value.items()}
    return value


def _lazy_aware_validation_error() -> None:
    """marshmallow wraps ``ValidationError("text")`` in a list only for a ``str``; every
    validator of ours raises a lazy translation. Wrap those at the root, once."""
    init = ValidationError.__init__
    if getattr(init, "lazy_aware", False):
        return

    def __init__(self, message, *args, **kwargs):
        init(self, as_messages(message), *args, **kwargs)

    __init__.lazy_aware = True
    ValidationError.__init__ = __init__


def _lazy_range_messages() -> None:
    """``validate.Range`` builds its messages from English words ("greater than or equal to")
    when it is made, at import: give each instance whole translated sentences instead."""
    init = validate.Range.__init__
    if getattr(init, "lazy_aware", False):
        return
    lower = {True: _l("Must be at least {min}."), False: _l("Must be more than {min}.")}
    upper = {True: _l("Must be at most {max}."), False: _l("Must be less than {max}.")}
    both = {
        (True, True): _l("Must be between {min} and {max}."),
        (True, False): _l("Must be at least {min} and less than {max}."),
        (False, True): _l("Must be more than {min} and at most {max}."),
        (False, False): _l("Must be more than {min} and less than {max}."),
    }

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.message_min = lower[self.min_inclusive]
        self.message_max = upper[self.max_inclusive]
        self.message_all = both[(self.min_inclusive, self.max_inclusive)]

    __init__.lazy_aware = True
    validate.Range.__init__ = __init__


def install_marshmallow_messages() -> None:
    """Give marshmallow's built-in messages lazy translations (evaluated per request)."""
    _lazy_aware_validation_error()
    fields.Field.default_error_messages = {
        "required": _l("This field is required."),
        "null": _l("This field may not be empty."),
        "validator_failed": _l("Invalid value."),
    }
    fields.String.default_error_messages = {
        "invalid": _l("Not a valid text."),
        "invalid_utf8": _l("Not valid UTF-8 text."),
    }
    fields.Integer.default_error_messages = {"invalid": _l("Not a valid whole number.")}
    fields.Number.default_error_messages = {
        "invalid": _l("Not a valid number."),
        "too_large": _l("The number is too large."),
    }
    fields.Decimal.default_error_messages = {"special": _l("Not a valid number.")}
    fields.Float.default_error_messages = {"special": _l("Not a valid number.")}
    fields.Boolean.default_error_messages = {"invalid": _l("Not a valid yes/no value.")}
    fields.Date.default_error_messages = {
        "invalid": _l("Not a valid date (YYYY-MM-DD)."),
        "format": _l("Cannot be shown as a date."),
    }
    fields.DateTime.default_error_messages = {
        "invalid": _l("Not a valid date and time."),
        "invalid_awareness": _l("Not a valid date and time."),
        "format": _l("Cannot be shown as a date and time."),
    }
    fields.List.default_error_messages = {"invalid": _l("Not a valid list.")}
    fields.Nested.default_error_messages = {"type": _l("Invalid type.")}
    fields.Dict.default_error_messages = {"invalid": _l("Not a valid mapping.")}
    validate.Length.message_min = _l("Too short: at least {min} characters.")
    validate.Length.message_max = _l("Too long: at most {max} characters.")
    validate.Length.message_all = _l("Length must be between {min} and {max}.")
    validate.Length.message_equal = _l("Length must be {equal}.")
    validate.OneOf.default_message = _l("Not one of the allowed choices.")
    validate.Regexp.default_message = _l("The format is not valid.")
    validate.Email.default_message = _l("Not a valid e-mail address.")
    validate.ContainsOnly.default_message = _l("Choose only from the listed choices.")
    validate.ContainsNoneOf.default_message = _l("Some of the choices are not allowed.")
    validate.Equal.default_message = _l("Must be equal to {other}.")
    validate.NoneOf.default_message = _l("Invalid value.")
    validate.Predicate.default_message = _l("Invalid value.")
    validate.URL.default_message = _l("Not a valid web address (URL).")
    fields._TemporalField.default_error_messages = {  # base of Date, Time and DateTime
        "invalid": _l("Not a valid date or time."),
        "invalid_awareness": _l("Not a valid date or time."),
        "format": _l("Cannot be shown as a date or time."),
    }
    fields.Time.default_error_messages = {
        "invalid": _l("Not a valid time (HH:MM)."),
        "format": _l("Cannot be shown as a time."),
    }
    fields.TimeDelta.default_error_messages = {
        "invalid": _l("Not a valid period of time."),
        "format": _l("Cannot be shown as a period of time."),
    }
    fields.Email.default_error_messages = {"invalid": _l("Not a valid e-mail address.")}
    fields.Url.default_error_messages = {"invalid": _l("Not a valid web address (URL).")}
    fields.UUID.default_error_messages = {"invalid_uuid": _l("Not a valid identifier (UUID).")}
    fields.Enum.default_error_messages = {"unknown": _l("Not one of the allowed choices.")}
    fields.Mapping.default_error_messages = {"invalid": _l("Not a valid mapping.")}
    fields.Tuple.default_error_messages = {"invalid": _l("Not a valid list.")}
    for ip_field in (fields.IP, fields.IPv4, fields.IPv6):
        ip_field.default_error_messages = {"invalid_ip": _l("Not a valid IP address.")}
    for ip_field in (fields.IPInterface, fields.IPv4Interface, fields.IPv6Interface):
        ip_field.default_error_messages = {
            "invalid_ip_interface": _l("Not a valid IP network interface.")
        }
    _lazy_range_messages()
    Schema._default_error_messages = {
        "type": _l("Invalid input type."),
        "unknown": _l("Unknown field."),
    }


def plain_messages(messages: Any) -> Any:
    """Turn nested marshmallow messages (lazy strings inside) into plain translated text.

    marshmallow wraps a message in a list only when it is a ``str``; a lazy message raised
    by a validator stays bare, so every field's messages are made a list here.
    """
    if isinstance(messages, dict):
        return {
            str(key): plain_messages(value)
            if isinstance(value, dict | list | tuple)
            else [str(value)]
            for key, value in messages.items()
        }
    if isinstance(messages, list | tuple):
        return [plain_messages(m) if isinstance(m, dict) else str(m) for m in messages]
    return str(messages)
