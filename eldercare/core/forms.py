"""The one way an HTML form is handled: validate with the schema, act, commit once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import request
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from eldercare.core.errors import AppError, conflict_for, keep_refusal_on_record
from eldercare.core.schemas import InputSchema, load_form


@dataclass
class FormResult:
    value: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    status: int = 200

    @property
    def ok(self) -> bool:
        return not self.errors

    def flash_errors(self) -> None:
        """Show a refusal as messages, for actions that go back to a list of buttons (a
        roster, a plan page) rather than re-render a form."""
        from flask import flash

        for messages in self.errors.values():
            for message in messages if isinstance(messages, list) else [messages]:
                flash(str(message), "danger")


def errors_of(err: AppError) -> dict[str, list[str]]:
    """An operation's refusal as form errors (a general message goes under ``_schema``,
    beside the fields' own when it has both)."""
    errors = {key: [str(m) for m in messages] for key, messages in err.errors.items()}
    if err.message is not None and "_schema" not in errors:
        errors["_schema"] = [str(err.message)]
    return errors or {"_schema": [str(err.description or err.code)]}


def submit_form(
    schema: InputSchema, action: Callable[[dict], Any], formdata: MultiDict | None = None
) -> FormResult:
    """Validate ``request.form`` (or ``formdata``: the form with its files) and run
    ``action(data)``; commit on success, roll back on a refusal. Invalid input is 422; a
    refused operation keeps its own status (409, 403...)."""
    from eldercare.extensions import db

    data, errors = load_form(schema, request.form if formdata is None else formdata)
    if errors:
        return FormResult(errors=errors, status=422)
    try:
        value = action(data)
    except AppError as err:
        db.session.rollback()
        keep_refusal_on_record(err)
        return FormResult(errors=errors_of(err), status=err.code or 422)
    except IntegrityError as err:  # a race caught at the operation's own flush
        db.session.rollback()
        return FormResult(errors=errors_of(conflict_for(err)), status=409)
    try:
        db.session.commit()
    except IntegrityError as err:  # a race the operation's own checks could not see
        db.session.rollback()
        refusal = conflict_for(err)
        return FormResult(errors=errors_of(refusal), status=409)
    return FormResult(value=value)


def load_filters(query: InputSchema, formdata: MultiDict, labels: dict | None = None) -> dict:
    """A list's or a report's filters from the query string. An invalid filter is dropped
    with a notice naming it (``labels``: filter name -> its label on the page) and what is
    wrong with it; the other filters still apply. Used by ``list_page``; for pages that are
    not a paginated list (a roster's day, a report's month) call it directly."""
    from flask import flash
    from flask_babel import gettext as _
    from flask_babel import lazy_gettext as _l

    named = {"page": _l("Page number"), "per_page": _l("Results per page"), **(labels or {})}
    args, errors = load_form(query, formdata)
    if not errors:
        return args
    kept = MultiDict(formdata)
    for name in errors:
        kept.poplist(name)
    args, still = load_form(type(query)(), kept)
    if still:  # a rule across filters (``_schema``): nothing can be kept
        args = type(query)().load({})
    for name, messages in errors.items():
        message = " ".join(str(m) for m in messages)
        if name in named:
            text = _(
                "The filter %(filter)s was not valid and was ignored: %(message)s"
                " The other filters still apply.",
                filter=named[name],
                message=message,
            )
        else:
            text = _(
                "A filter was not valid and was ignored: %(message)s"
                " The other filters still apply.",
                message=message,
            )
        flash(text, "warning")
    return args


def list_page(query: InputSchema, search: Callable[[dict], Any], labels: dict | None = None):
    """Validate a list page's filters from the query string and return (page, filters).

    Invalid filters are dropped one by one with a notice naming each (``load_filters``). A
    page past the end says so and links to the last page, instead of an empty list."""
    from flask import flash, url_for
    from flask_babel import gettext as _
    from markupsafe import Markup

    from eldercare.extensions import db

    args = load_filters(query, request.args, labels)
    page = db.paginate(search(args), page=args["page"], per_page=args["per_page"], error_out=False)
    if page.page > 1 and not page.items and page.pages >= 1:
        values = {**request.view_args, **request.args.to_dict(flat=False), "page": page.pages}
        flash(
            Markup('{} <a class="alert-link" href="{}" id="last-page">{}</a>').format(
                _("This page is past the end of the list."),
                url_for(request.endpoint, **values),
                _("Go to the last page, %(n)s", n=page.pages),
            ),
            "info",
        )
    return page, args
