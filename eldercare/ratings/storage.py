"""Where evidence files live: under the instance folder (never static/), as
``<evidence dir>/<round>/<application>/<random name>``, bound to the database transaction.
A file written by a transaction that does not commit is removed again, and the file of a
deleted row goes only once the deletion is committed: no orphan file, no dangling row."""

from __future__ import annotations

import contextlib
import os
import uuid

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from eldercare.extensions import db

#: session.info keys: files written in the transaction, files to delete when it commits.
_WRITTEN = "rating_evidence_written"
_DOOMED = "rating_evidence_doomed"


def evidence_dir() -> str:
    """RATING_EVIDENCE_DIR, or ``evidence/`` in the instance folder."""
    return current_app.config.get("RATING_EVIDENCE_DIR") or os.path.join(
        current_app.instance_path, "evidence"
    )


def new_key(application) -> str:
    """A fresh storage key: nothing of the uploaded name reaches the file system."""
    return f"{application.round_id}/{application.id}/{uuid.uuid4().hex}"


def path_of(key: str) -> str:
    return os.path.join(evidence_dir(), *key.split("/"))


def write(key: str, data: bytes) -> str:
    """Store the bytes under a new key (never overwriting) and return the path; removed
    again unless the current transaction commits."""
    path = path_of(key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path, "xb") as handle:
            handle.write(data)
    except BaseException:
        remove(path)
        raise
    db.session.info.setdefault(_WRITTEN, []).append(path)
    return path


def remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def remove_after_commit(key: str) -> None:
    db.session.info.setdefault(_DOOMED, []).append(path_of(key))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the outer transaction decides
        return
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_DOOMED, []):
        remove(path)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    # Still listed: the transaction ended without a commit (rolled back, or closed).
    for path in session.info.pop(_WRITTEN, []):
        remove(path)
    session.info.pop(_DOOMED, None)
