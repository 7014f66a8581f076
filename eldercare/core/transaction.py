"""The one place a request's writes are committed, outside form pages (those commit in
``core.forms.submit_form``): API routes that change something, and the audit record a
download or a reveal leaves.

    @blp.route("/<int:bed_id>", methods=["PATCH"])
    ...
    @transactional
    def update_bed(data, bed_id): ...

The route loads, checks and acts through operations; when it returns, what it did is
committed; when it raises (a refusal, a conflict, a bug) everything it did is rolled back,
so a failed request leaves no partial write. Place it next to the function, under the
routing and schema decorators, so the commit happens before the answer is serialised.
"""

from __future__ import annotations

import functools

from flask import g

from eldercare.extensions import db


def transactional(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            result = view(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return wrapper


def commit_noted_access() -> None:
    """Commit what the request's authentication noted (a token's last use), before the route
    runs: a small transaction of its own, kept whatever the route then does, and never
    carrying the route's writes. Called by the API's one entry, ``core.api.api_roles``."""
    if g.pop("access_noted", False):
        db.session.commit()
