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
    """An operation's refusal as form errors (a general message goes under ``_schema``)."""
    errors = {key: [str(m) for m in messages] for key, messages in err.errors.items()}
    if not errors and err.message is not None:
        errors = {"_schema": [str(err.message)]}
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


def list_page(query: InputSchema, search: Callable[[dict], Any]):
    """Validate a list page's filters from the query string and return (page, filters).

    Invalid filters are dropped with a notice rather than refused: the list still shows.
    """
    from flask import flash
    from flask_babel import gettext as _

    from eldercare.extensions import db

    args, errors = load_form(query, request.args)
    if errors:
        flash(_("Some filters were not valid and were ignored."), "warning")
        args = type(query)().load({})
    page = db.paginate(search(args), page=args["page"], per_page=args["per_page"], error_out=False)
    return page, args
