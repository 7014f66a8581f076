"""Evidence files of an assessment: attached to an item while the assessment can change,
removed, downloaded (audited), and listed for those who may see them. Where the bytes live is
``ratings.storage``."""

from __future__ import annotations

import os

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from eldercare.core.db import utcnow
from eldercare.core.errors import AppError, Invalid
from eldercare.core.permissions import visible
from eldercare.extensions import db
from eldercare.ratings import storage as files
from eldercare.ratings.models import Application, Assessment, AssessmentKind, Evidence, Item
from eldercare.ratings.operations.assessments import open_assessment
from eldercare.ratings.operations.common import audit_application, value_key
from eldercare.ratings.operations.queries import item_of


def attach_evidence(application: Application, kind: str, item_id: int, upload, by) -> Evidence:
    """Attach a checked upload (``schemas.EvidenceUpload``) to an item of the acting user's
    assessment while it can still change. The file is written only now, after every check,
    and removed again if the row cannot be stored or the transaction does not commit."""
    assessment = open_assessment(application, kind, by)
    item = item_of(application.round.scheme, item_id)
    if item is None:
        raise Invalid(errors={"item_id": [_l("Not an item of this scheme.")]})
    evidence = Evidence(
        assessment_id=assessment.id,
        item_id=item.id,
        original_name=upload.name,
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=upload.sha256,
        storage_key=files.new_key(application),
        uploaded_by_id=by.id,
        uploaded_at=utcnow(),
    )
    path = files.write(evidence.storage_key, upload.data)
    try:
        db.session.add(evidence)
        db.session.flush()
    except Exception:
        files.remove(path)
        raise
    audit_application(
        "rating_evidence.uploaded",
        application,
        by,
        record=evidence,
        changes={"file": [None, evidence.original_name]},
        note=f"{kind} {value_key(item)} {evidence.content_type} {evidence.size} B"
        f" sha256:{evidence.sha256}",
    )
    return evidence


def remove_evidence(evidence: Evidence, by) -> None:
    """Take a file off an assessment that can still change (by whoever may change it); the
    file itself goes once the removal is committed."""
    assessment = evidence.assessment
    application = db.session.get(Application, assessment.application_id)
    if assessment.kind == AssessmentKind.ASSESSOR and assessment.by_id != by.id:
        raise AppError(403, _l("You do not have permission to do this."))
    open_assessment(application, assessment.kind, by)
    name = evidence.original_name
    files.remove_after_commit(evidence.storage_key)
    db.session.delete(evidence)
    db.session.flush()
    audit_application(
        "rating_evidence.deleted",
        application,
        by,
        record=evidence,
        changes={"file": [name, None]},
        note=f"{assessment.kind} {value_key(evidence.item)}",
    )


def evidence_download(evidence: Evidence, by) -> str:
    """The path of an evidence file to send (the caller checked the scope), the download
    audited; 404 when the file is not on disk."""
    path = files.path_of(evidence.storage_key)
    if not os.path.isfile(path):
        raise AppError(404)
    application = db.session.get(Application, evidence.assessment.application_id)
    audit_application(
        "rating_evidence.downloaded",
        application,
        by,
        record=evidence,
        note=evidence.original_name,
    )
    return path


def evidence_of(application: Application, user) -> list[tuple[Assessment, list[Evidence]]]:
    """The evidence files of the application that ``user`` may see, by assessment: the
    self-assessment first, then each assessor's; files oldest first."""
    groups: dict[int, tuple[Assessment, list[Evidence]]] = {}
    for evidence in db.session.scalars(
        visible(Evidence, user)
        .join(Assessment, Assessment.id == Evidence.assessment_id)
        .where(Assessment.application_id == application.id)
        .options(
            selectinload(Evidence.assessment).selectinload(Assessment.by),
            selectinload(Evidence.item).selectinload(Item.section),
        )
        .order_by(Assessment.kind.desc(), Assessment.id, Evidence.id)
    ):
        groups.setdefault(evidence.assessment_id, (evidence.assessment, []))[1].append(evidence)
    return list(groups.values())


def evidence_by_item(application: Application, kind: str, user) -> dict[int, list[Evidence]]:
    """Item id -> the files of the assessment ``user`` works on (as ``kind``)."""
    stmt = (
        visible(Evidence, user)
        .join(Assessment, Assessment.id == Evidence.assessment_id)
        .where(Assessment.application_id == application.id, Assessment.kind == kind)
        .order_by(Evidence.id)
    )
    if kind == AssessmentKind.ASSESSOR:
        stmt = stmt.where(Assessment.by_id == user.id)
    found: dict[int, list[Evidence]] = {}
    for evidence in db.session.scalars(stmt):
        found.setdefault(evidence.item_id, []).append(evidence)
    return found
