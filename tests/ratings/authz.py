"""Authorization matrix entries for the rating pages: schemes, rounds, applications, scores
and their evidence files. The world's external assessor is appointed to the application of
county A's facility; every other application is out of its scope."""

from __future__ import annotations

import io

import sqlalchemy as sa

from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings import storage as files
from eldercare.ratings.models import (
    Application,
    Assessment,
    Evidence,
    Objection,
    Round,
    Scheme,
)
from tests.authz.matrix import STAFF, Route

KEEPERS = frozenset({"admin", "county_staff"})
#: Who opens evidence files at all (township staff do not).
EVIDENCE_READERS = frozenset({"admin", "county_staff", "operator", "assessor"})
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _shipped() -> Scheme:
    ops.load_shipped_schemes()
    return db.session.scalar(
        sa.select(Scheme).where(Scheme.region_id.is_(None)).order_by(Scheme.code).limit(1)
    )


def _copy_for(county) -> Scheme:
    existing = db.session.scalar(sa.select(Scheme).where(Scheme.region_id == county.id))
    if existing is not None:
        return existing
    from tests.visits.helpers import admin

    return ops.copy_scheme(_shipped(), admin(), county)


def scheme(world, user):
    """In scope: the county's own copy; out of scope: the other county's copy (township
    staff of county A see county A's copies too)."""
    return _copy_for(world.county_a).id, _copy_for(world.county_b).id


def shipped(world, user):
    return _shipped().id, None


def item(world, user):
    def of(county):
        copy = _copy_for(county)
        it = next(i for s in copy.sections for i in s.items if not i.must_have)
        return {"scheme_id": copy.id, "item_id": it.id}

    return of(world.county_a), of(world.county_b)


ROUTES = [
    Route("ratings.schemes", allowed=STAFF),
    Route("ratings.scheme", allowed=STAFF, target=scheme, arg="scheme_id"),
    Route(
        "ratings.copy",
        "POST",
        allowed=KEEPERS,
        target=shipped,
        arg="scheme_id",
        data=lambda w, u: {"county_id": w.county_a.id},
        ok=(302,),
    ),
    Route(
        "ratings.update_item",
        "POST",
        allowed=KEEPERS,
        target=item,
        data=lambda w, u: {"text": "修改后的要求"},
        ok=(302,),
    ),
]


# --- rounds and applications -------------------------------------------------------------------


def _round_in(county) -> Round:
    existing = db.session.scalar(sa.select(Round).where(Round.region_id == county.id))
    if existing is not None:
        return existing
    from tests.visits.helpers import admin

    scheme = db.session.scalar(
        sa.select(Scheme).where(Scheme.region_id.is_(None), Scheme.kind == "nursing_home")
    ) or (
        _shipped()
        and db.session.scalar(
            sa.select(Scheme).where(Scheme.region_id.is_(None), Scheme.kind == "nursing_home")
        )
    )
    return ops.open_round(
        county, {"year": 2026, "name": "评定", "scheme_id": scheme.id, "notice_days": 7}, admin()
    )


def _application_of(facility, county) -> Application:
    existing = db.session.scalar(
        sa.select(Application).where(Application.facility_id == facility.id)
    )
    if existing is not None:
        return existing
    from tests.visits.helpers import admin

    facility.kind = "nursing_home"
    db.session.flush()
    return ops.add_application(_round_in(county), facility, admin())


def round_target(world, user):
    return _round_in(world.county_a).id, _round_in(world.county_b).id


def _outside_facility(world, user):
    if user.role in ("operator", "township_staff"):
        return world.facility_a2, world.county_a
    return world.facility_b, world.county_b


def _inside(world) -> Application:
    """County A's facility's application, with the world's external assessor appointed."""
    inside = _application_of(world.facility_a, world.county_a)
    assessor = world.user("assessor")
    if assessor not in inside.assessors:
        inside.assessors.append(assessor)
        db.session.flush()
    return inside


def application_target(world, user):
    inside = _inside(world)
    facility, county = _outside_facility(world, user)
    return inside.id, _application_of(facility, county).id


def _first_item(world) -> int:
    scheme = _inside(world).round.scheme
    return scheme.sections[0].items[0].id


def _upload(world, user):
    return {"item_id": _first_item(world), "file": (io.BytesIO(PNG), "照片.png")}


def _evidence_in(application: Application) -> int:
    """A photo on the facility's self-assessment of ``application`` (file and row)."""
    assessment = db.session.scalar(
        sa.select(Assessment).where(
            Assessment.application_id == application.id, Assessment.kind == "self"
        )
    )
    if assessment is None:
        from tests.visits.helpers import admin

        assessment = Assessment(application_id=application.id, kind="self", by_id=admin().id)
        db.session.add(assessment)
        db.session.flush()
    key = files.new_key(application)
    files.write(key, PNG)
    evidence = Evidence(
        assessment_id=assessment.id,
        item_id=application.round.scheme.sections[0].items[0].id,
        original_name="照片.png",
        content_type="image/png",
        size=len(PNG),
        sha256="0" * 64,
        storage_key=key,
        uploaded_by_id=assessment.by_id,
    )
    db.session.add(evidence)
    db.session.flush()
    return evidence.id


def evidence_target(world, user):
    inside, outside = application_target(world, user)
    return (
        _evidence_in(db.session.get(Application, inside)),
        _evidence_in(db.session.get(Application, outside)),
    )


def _self_scores(world, user):
    return {"action": "save"}


def _staff_member(world, user):
    from tests.builders import build_user

    return {"user_id": build_user("county_staff", world.county_a).id}


ROUTES += [
    Route("ratings.rounds", allowed=STAFF),
    Route(
        "ratings.open_round",
        "POST",
        allowed=KEEPERS,
        # The target only loads the shipped schemes before the per-role savepoints (the
        # page ignores the extra query argument).
        target=shipped,
        arg="loaded",
        data=lambda w, u: {
            "county_id": w.county_a.id,
            "name": "新一轮评定",
            "year": "2027",
            "scheme_id": _shipped().id,
            "notice_days": "7",
            "issuing_office": "渭滨区民政局",
            "supervision_phone": "0917-3261234",
        },
        ok=(302,),
    ),
    Route("ratings.round_page", allowed=STAFF, target=round_target, arg="round_id"),
    Route(
        "ratings.notice_details",
        "POST",
        allowed=KEEPERS,
        target=round_target,
        arg="round_id",
        data=lambda w, u: {"issuing_office": "渭滨区民政局", "supervision_phone": "0917-3261234"},
        ok=(302,),
    ),
    Route(
        "ratings.close_round",
        "POST",
        allowed=KEEPERS,
        target=round_target,
        arg="round_id",
        ok=(302, 303),
        note="303 when a facility of the round is not finished: still in scope",
    ),
    Route(
        "ratings.add_application",
        "POST",
        allowed=KEEPERS,
        target=round_target,
        arg="round_id",
        data=lambda w, u: {"facility_id": w.facility_a.id},
        ok=(302, 409),
        note="409 when the facility is already in the round: still in scope",
    ),
    Route("ratings.my_applications", allowed=frozenset({"operator", "assessor"})),
    Route(
        "ratings.application",
        allowed=STAFF | {"operator", "assessor"},
        target=application_target,
        arg="application_id",
    ),
    Route(
        "ratings.appoint",
        "POST",
        allowed=KEEPERS,
        target=application_target,
        arg="application_id",
        data=_staff_member,
        ok=(302,),
    ),
    Route(
        "ratings.scores",
        allowed=frozenset({"operator"}),
        target=application_target,
        arg="application_id",
        extra_args={"kind": "self"},
    ),
    Route(
        "ratings.scores",
        allowed=frozenset({"assessor"}),
        target=application_target,
        arg="application_id",
        extra_args={"kind": "assessor"},
        note="only the appointed assessor scores as assessor",
    ),
    Route(
        "ratings.scores",
        "POST",
        allowed=frozenset({"operator"}),
        target=application_target,
        arg="application_id",
        extra_args={"kind": "self"},
        data=_self_scores,
        ok=(302,),
    ),
    Route(
        "ratings.upload_evidence",
        "POST",
        allowed=frozenset({"operator"}),
        target=application_target,
        arg="application_id",
        extra_args={"kind": "self"},
        data=_upload,
        ok=(302,),
    ),
    Route(
        "ratings.evidence_file",
        allowed=EVIDENCE_READERS,
        target=evidence_target,
        arg="evidence_id",
    ),
    Route(
        "ratings.delete_evidence",
        "POST",
        allowed=EVIDENCE_READERS,
        target=evidence_target,
        arg="evidence_id",
        ok=(302, 303),
        note="the operator removes its own file; others in scope are refused with a message",
    ),
    Route(
        "ratings.withdraw",
        "POST",
        allowed=KEEPERS | {"operator"},
        target=application_target,
        arg="application_id",
        data=lambda w, u: {"reason": "机构改造，暂缓评定"},
        ok=(302,),
    ),
    Route(
        "ratings.decide",
        "POST",
        allowed=KEEPERS,
        target=application_target,
        arg="application_id",
        data=lambda w, u: {"decision": "approve"},
        ok=(409,),
        note="not assessed yet: refused with a message, in scope",
    ),
    Route(
        "ratings.objection",
        "POST",
        allowed=KEEPERS,
        target=application_target,
        arg="application_id",
        data=lambda w, u: {"received_on": "2026-01-01", "text": "异议"},
        ok=(409,),
        note="not in notice: refused with a message, in scope",
    ),
    Route(
        "ratings.publish",
        "POST",
        allowed=KEEPERS,
        target=application_target,
        arg="application_id",
        ok=(409,),
        note="not in notice: refused with a message, in scope",
    ),
]


def objection_target(world, user):
    from datetime import date

    def of(application_id):
        objection = Objection(
            application_id=application_id, received_on=date(2026, 1, 5), text="异议"
        )
        db.session.add(objection)
        db.session.flush()
        return objection.id

    inside, outside = application_target(world, user)
    return of(inside), of(outside)


ROUTES += [
    Route(
        "ratings.answer_objection",
        "POST",
        allowed=KEEPERS,
        target=objection_target,
        arg="objection_id",
        data=lambda w, u: {"resolution": "已答复"},
        ok=(409,),
        note="the result is not in notice: refused with a message, in scope",
    ),
    Route(
        "ratings.reopen",
        "POST",
        allowed=KEEPERS,
        target=application_target,
        arg="application_id",
        data=lambda w, u: {"resolution": "异议属实"},
        ok=(409,),
        note="not in notice: refused with a message, in scope",
    ),
]
