"""Evidence files on item scores: photos and PDFs told by their first bytes, a size limit,
kept under the instance folder with their name, type, size, digest, uploader and time;
nothing written by a refused or failed upload; served only within the application's scope
(404 otherwise), every upload and download audited; removed only while the assessment can
still change."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.errors import Conflict
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Evidence
from eldercare.ratings.schemas import EvidenceUpload
from tests.builders import build_facility, build_user
from tests.ratings.helpers import JPEG, PDF, PNG, first_item, full_marks, stored_files


def upload(client, application, data: bytes, name: str, kind="self", mimetype=None, item=None):
    item = item or first_item(application)
    return client.post(
        f"/ratings/applications/{application.id}/scores/{kind}/evidence",
        data={"item_id": item.id, "file": (io.BytesIO(data), name, mimetype)},
        content_type="multipart/form-data",
    )


def evidence_rows() -> list[Evidence]:
    return list(db.session.scalars(sa.select(Evidence).order_by(Evidence.id)))


def actions(*names) -> list[AuditLog]:
    return list(
        db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action.in_(names)).order_by(AuditLog.id)
        )
    )


def test_the_operator_attaches_a_photo_kept_outside_static(
    client, auth, world, application, evidence_dir, app
):
    operator = auth.login_as(world.user("operator"))
    response = upload(client, application, PNG, "手机相册/消防通道.png")
    assert response.status_code == 302
    assert response.location.endswith(f"/scores/self#item-{first_item(application).id}")
    [row] = evidence_rows()
    assert (row.original_name, row.content_type, row.size) == (
        "消防通道.png",
        "image/png",
        len(PNG),
    )
    assert row.sha256 == hashlib.sha256(PNG).hexdigest()
    assert row.uploaded_by_id == operator.id and row.uploaded_at is not None
    assert row.assessment.kind == "self" and row.item_id == first_item(application).id
    [path] = stored_files(evidence_dir)
    assert path.read_bytes() == PNG
    assert path.relative_to(evidence_dir).parts[:2] == (
        str(application.round_id),
        str(application.id),
    )
    assert "消防通道" not in str(path)  # the stored name is ours, not the uploader's
    assert not str(path).startswith(app.static_folder)
    [entry] = actions("rating_evidence.uploaded")
    assert entry.actor_id == operator.id and entry.facility_id == world.facility_a.id
    assert entry.region_id == world.county_a.id and row.sha256 in entry.note
    page = client.get(f"/ratings/applications/{application.id}/scores/self").get_data(as_text=True)
    assert "消防通道.png" in page and f"/ratings/evidence/{row.id}" in page


def test_the_type_is_told_by_the_first_bytes_not_the_name_or_the_browser(
    client, auth, world, application, evidence_dir
):
    auth.login_as(world.user("operator"))
    # A GIF, and an HTML page, named and sent as a JPEG photo: refused.
    for fake in (b"GIF89a" + bytes(100), b"<html><script>alert(1)</script></html>"):
        response = upload(client, application, fake, "photo.jpg", mimetype="image/jpeg")
        assert response.status_code == 422
    english = client.post(
        f"/ratings/applications/{application.id}/scores/self/evidence?lang=en",
        data={"item_id": first_item(application).id, "file": (io.BytesIO(b"MZ\x90"), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert english.status_code == 422
    assert "Only photos (JPEG or PNG) and PDF documents" in english.get_data(as_text=True)
    assert evidence_rows() == [] and stored_files(evidence_dir) == []
    # A real photo with a misleading name and type is stored as what it is.
    assert (
        upload(client, application, JPEG, "scan.pdf", mimetype="application/pdf").status_code == 302
    )
    assert upload(client, application, PDF, "制度.pdf").status_code == 302
    assert [r.content_type for r in evidence_rows()] == ["image/jpeg", "application/pdf"]


def test_the_size_limit_is_configurable(
    client, auth, world, application, evidence_dir, app, monkeypatch
):
    monkeypatch.setitem(app.config, "RATING_EVIDENCE_MAX_BYTES", len(PNG))
    auth.login_as(world.user("operator"))
    too_big = client.post(
        f"/ratings/applications/{application.id}/scores/self/evidence?lang=en",
        data={"item_id": first_item(application).id, "file": (io.BytesIO(PNG + b"x"), "a.png")},
        content_type="multipart/form-data",
    )
    assert too_big.status_code == 422
    assert "larger than the" in too_big.get_data(as_text=True)
    assert evidence_rows() == [] and stored_files(evidence_dir) == []
    assert upload(client, application, PNG, "a.png").status_code == 302  # exactly the limit


def test_the_default_limit_is_ten_megabytes(app):
    assert app.config["RATING_EVIDENCE_MAX_BYTES"] == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"item_id": "1", "file": (io.BytesIO(b""), "empty.png")}, "file"),
        ({"item_id": "1", "file": (io.BytesIO(b""), "")}, "file"),  # no file chosen
        ({"item_id": "1"}, "file"),
        ({"file": (io.BytesIO(PNG), "a.png")}, "item_id"),
    ],
    ids=["empty", "not-chosen", "missing", "no-item"],
)
def test_bad_input_is_refused_and_writes_nothing(
    client, auth, world, application, evidence_dir, form, field
):
    auth.login_as(world.user("operator"))
    if "item_id" in form:
        form["item_id"] = first_item(application).id
    response = client.post(
        f"/ratings/applications/{application.id}/scores/self/evidence",
        data=form,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert 'class="alert alert-danger"' in response.get_data(as_text=True)
    assert evidence_rows() == [] and stored_files(evidence_dir) == []


def test_an_item_of_another_scheme_is_refused(client, auth, world, application, evidence_dir):
    from eldercare.ratings.models import Item, Scheme

    other = db.session.scalar(
        sa.select(Item)
        .join(Item.section)
        .join(Scheme)
        .where(Scheme.id != application.round.scheme_id)
        .limit(1)
    )
    auth.login_as(world.user("operator"))
    assert upload(client, application, PNG, "a.png", item=other).status_code == 422
    assert stored_files(evidence_dir) == []


def test_no_file_is_left_when_the_row_cannot_be_stored(
    world, application, evidence_dir, monkeypatch
):
    session = db.session()
    flush = session.flush

    def failing_flush(*args, **kwargs):
        if any(isinstance(o, Evidence) for o in session.new):
            raise sa.exc.IntegrityError("INSERT INTO rating_evidence", {}, Exception("boom"))
        return flush(*args, **kwargs)

    monkeypatch.setattr(session, "flush", failing_flush)
    with pytest.raises(sa.exc.IntegrityError):
        ops.attach_evidence(
            application,
            "self",
            first_item(application).id,
            EvidenceUpload("a.png", "image/png", PNG),
            world.user("operator"),
        )
    assert stored_files(evidence_dir) == []


def test_no_file_is_left_when_the_transaction_does_not_commit(world, application, evidence_dir):
    ops.attach_evidence(
        application,
        "self",
        first_item(application).id,
        EvidenceUpload("a.png", "image/png", PNG),
        world.user("operator"),
    )
    assert len(stored_files(evidence_dir)) == 1  # written, not committed yet
    db.session.rollback()
    assert stored_files(evidence_dir) == []


def test_a_failed_request_after_the_upload_leaves_no_file(
    client, auth, world, application, evidence_dir, monkeypatch
):
    """The operation succeeded, but the commit of the request fails: nothing is kept."""
    from eldercare.core import audit

    auth.login_as(world.user("operator"))
    record = audit.record

    def failing_record(action, *args, **kwargs):
        entry = record(action, *args, **kwargs)
        if action == "rating_evidence.uploaded":
            entry.action = None  # NOT NULL: the commit of the request fails
        return entry

    monkeypatch.setattr(audit, "record", failing_record)
    assert upload(client, application, PNG, "a.png").status_code == 409
    assert stored_files(evidence_dir) == []


def test_downloads_are_audited_and_served_safely(client, auth, world, application, evidence_dir):
    auth.login_as(world.user("operator"))
    upload(client, application, PNG, "照片.png")
    upload(client, application, PDF, "消防验收.pdf")
    photo, pdf = evidence_rows()
    staff = auth.login_as(world.user("county_staff"))
    response = client.get(f"/ratings/evidence/{photo.id}")
    assert response.status_code == 200 and response.data == PNG
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "no-store" in response.headers["Cache-Control"]
    response = client.get(f"/ratings/evidence/{pdf.id}")
    assert response.status_code == 200 and response.data == PDF
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    client.get(f"/ratings/evidence/{pdf.id}")
    entries = actions("rating_evidence.downloaded")
    assert [(e.actor_id, e.entity_id) for e in entries] == [
        (staff.id, photo.id),
        (staff.id, pdf.id),
        (staff.id, pdf.id),
    ]
    assert all(e.region_id == world.county_a.id for e in entries)


def _self_evidence(world, application) -> Evidence:
    return ops.attach_evidence(
        application,
        "self",
        first_item(application).id,
        EvidenceUpload("自评.png", "image/png", PNG),
        world.user("operator"),
    )


def test_download_scope(client, auth, world, application, evidence_dir):
    evidence = _self_evidence(world, application)
    url = f"/ratings/evidence/{evidence.id}"
    other_county = build_user("county_staff", world.county_b)
    other_operator = build_user("operator", facility=build_facility(world.township_a))
    not_appointed = build_user("assessor", world.county_a)
    for user in (world.user("admin"), world.user("county_staff"), world.user("assessor")):
        auth.login_as(user)
        assert client.get(url).status_code == 200, user.role
    auth.login_as(world.user("operator"))
    assert client.get(url).status_code == 200
    for user in (other_county, other_operator, not_appointed):
        auth.login_as(user)
        assert client.get(url).status_code == 404, user.username
    for role in ("township_staff", "visitor", "family"):
        auth.login_as(world.user(role))
        assert client.get(url).status_code == 403, role
    assert client.get("/ratings/evidence/999999").status_code == 403  # family: by role first
    auth.login_as(world.user("county_staff"))
    assert client.get("/ratings/evidence/999999").status_code == 404
    # Refusals are not downloads: only the four allowed ones are on record.
    assert len(actions("rating_evidence.downloaded")) == 4


def test_the_operator_never_sees_the_assessors_files(
    client, auth, world, application, evidence_dir
):
    assessor = world.user("assessor")
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    theirs = ops.attach_evidence(
        application,
        "assessor",
        first_item(application).id,
        EvidenceUpload("现场.jpg", "image/jpeg", JPEG),
        assessor,
    )
    auth.login_as(world.user("operator"))
    assert client.get(f"/ratings/evidence/{theirs.id}").status_code == 404
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert "现场.jpg" not in page
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert "现场.jpg" in page


def test_an_assessor_sees_the_others_files_once_its_own_scores_are_in(
    world, application, evidence_dir
):
    external, staff_assessor = application.assessors
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    item = first_item(application).id
    mine = ops.attach_evidence(
        application, "assessor", item, EvidenceUpload("a.png", "image/png", PNG), external
    )
    theirs = ops.attach_evidence(
        application, "assessor", item, EvidenceUpload("b.png", "image/png", PNG), staff_assessor
    )

    def seen(user) -> set[int]:
        return {e.id for _assessment, files in ops.evidence_of(application, user) for e in files}

    assert theirs.id not in seen(external) and mine.id in seen(external)
    assert mine.id not in seen(staff_assessor)
    ops.save_scores(application, "assessor", full_marks(application), external, True)
    assert {mine.id, theirs.id} <= seen(external)
    assert mine.id not in seen(staff_assessor)  # still scoring


def test_removing_a_file_while_the_assessment_can_change(
    client, auth, world, application, evidence_dir
):
    auth.login_as(world.user("operator"))
    upload(client, application, PNG, "a.png")
    upload(client, application, PNG, "b.png")
    first, second = evidence_rows()
    response = client.post(f"/ratings/evidence/{first.id}/delete")
    assert response.status_code == 302
    assert [e.id for e in evidence_rows()] == [second.id]
    assert len(stored_files(evidence_dir)) == 1  # gone once the removal was committed
    [entry] = actions("rating_evidence.deleted")
    assert entry.changes == {"file": ["a.png", None]}
    # Handed in: nothing can change any more, files included.
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    db.session.commit()
    refused = client.post(f"/ratings/evidence/{second.id}/delete")
    assert refused.status_code == 303
    assert len(evidence_rows()) == 1 and len(stored_files(evidence_dir)) == 1
    assert upload(client, application, PNG, "c.png").status_code == 409
    assert len(stored_files(evidence_dir)) == 1


def test_removal_is_for_whoever_may_change_the_assessment(world, application, evidence_dir):
    evidence = _self_evidence(world, application)
    for user in (world.user("county_staff"), world.user("assessor")):
        with pytest.raises(Exception) as refused:
            ops.remove_evidence(evidence, user)
        assert getattr(refused.value, "code", None) == 403
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    with pytest.raises(Conflict):
        ops.remove_evidence(evidence, world.user("operator"))
