"""Every ratings form, refused, shows again what was typed (selects included) with why; dates
typed are bounded by what makes sense; an evidence upload from the scoring page keeps the
page's unsaved scores and notes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.db import local_today
from eldercare.extensions import db
from eldercare.ratings import operations as ops
from eldercare.ratings.models import Evidence, Objection, Round, Scheme, Score
from tests.ratings.helpers import PNG, full_marks


def _in_notice(world, application):
    ops.save_scores(application, "self", full_marks(application), world.user("operator"), True)
    for assessor in application.assessors:
        ops.save_scores(application, "assessor", full_marks(application), assessor, True)
    ops.decide(application, True, "", world.user("county_staff"))
    db.session.commit()
    return application


def test_a_refused_round_keeps_every_value_typed(client, auth, world):
    today = local_today()
    ops.load_shipped_schemes()
    schemes = db.session.scalars(sa.select(Scheme).order_by(Scheme.id)).all()
    chosen = schemes[-1]  # not the first option: the select must keep it
    auth.login_as(world.user("county_staff"))
    form = {
        "name": "2020年度评定",
        "year": "2020",
        "scheme_id": chosen.id,
        "notice_days": "10",
        "issuing_office": "渭滨区民政局",
        "supervision_phone": "0917-3261234",
    }
    response = client.post("/ratings/rounds", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"请选择 {today.year - 1} 至 {today.year + 1} 之间的年份" in page
    assert 'value="2020年度评定"' in page and 'value="2020"' in page and 'value="10"' in page
    assert 'value="渭滨区民政局"' in page and 'value="0917-3261234"' in page
    assert f'<option value="{chosen.id}" selected>' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0
    # A wrong year and a wrong phone at once: both are said at once.
    both = client.post("/ratings/rounds", data={**form, "supervision_phone": "找老王"})
    text = both.get_data(as_text=True)
    assert "之间的年份" in text and "请填写电话号码" in text
    # A phone that is not one, refused the same way.
    bad_phone = client.post(
        "/ratings/rounds", data={**form, "year": str(today.year), "supervision_phone": "找老王"}
    )
    assert bad_phone.status_code == 422 and 'value="找老王"' in bad_phone.get_data(as_text=True)
    assert client.post("/ratings/rounds", data={**form, "year": str(today.year)}).status_code == 302


@pytest.mark.parametrize("offset", [timedelta(days=-400), timedelta(days=1), timedelta(days=400)])
def test_an_objection_is_received_on_a_day_of_the_notice(client, auth, world, application, offset):
    today = local_today()
    _in_notice(world, application)
    auth.login_as(world.user("county_staff"))
    url = f"/ratings/applications/{application.id}/objections"
    day = (today + offset).isoformat()
    response = client.post(
        url, data={"received_on": day, "text": "收费标准未公示", "resolution": "待核实"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"请填写公示期内的日期：{today.isoformat()} 至 {today.isoformat()}" in page
    assert f'value="{day}"' in page and "收费标准未公示" in page and "待核实" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Objection)) == 0
    ok = client.post(url, data={"received_on": today.isoformat(), "text": "收费标准未公示"})
    assert ok.status_code == 302


def test_the_objection_form_offers_only_the_days_of_the_notice(client, auth, world, application):
    today = local_today()
    _in_notice(world, application)
    auth.login_as(world.user("county_staff"))
    page = client.get(f"/ratings/applications/{application.id}").get_data(as_text=True)
    assert f'min="{today.isoformat()}" max="{today.isoformat()}"' in page


def test_a_refused_committee_note_and_answer_keep_what_was_typed(client, auth, world, application):
    today = local_today()
    _in_notice(world, application)
    staff = world.user("county_staff")
    objection = ops.record_objection(application, {"received_on": today, "text": "异议"}, staff)
    db.session.commit()
    auth.login_as(staff)
    # Answering once the result is no longer in notice is refused: the typed answer stays.
    application.status = "assessed"
    db.session.commit()
    response = client.post(
        f"/ratings/objections/{objection.id}/answer", data={"resolution": "已电话答复异议人"}
    )
    assert response.status_code == 409
    # The committee's note, refused without a note when returning: shown with why.
    refused = client.post(
        f"/ratings/applications/{application.id}/decision", data={"decision": "return"}
    )
    assert refused.status_code == 422
    assert 'data-refused="decide"' in refused.get_data(as_text=True)


def test_a_refused_withdrawal_keeps_the_reason(client, auth, world, application):
    auth.login_as(world.user("county_staff"))
    reason = "机构改造" * 126  # 504 characters: over the 500 allowed
    response = client.post(
        f"/ratings/applications/{application.id}/withdraw", data={"reason": reason}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"{reason}</textarea>" in page and '<details class="mb-3" id="withdraw" open>' in page


def test_a_refused_item_edit_keeps_the_typed_text(client, auth, world):
    ops.load_shipped_schemes()
    shipped = db.session.scalar(sa.select(Scheme).where(Scheme.kind == "nursing_home"))
    staff = world.user("county_staff")
    copy = ops.copy_scheme(shipped, staff, world.county_a)
    item = next(i for s in copy.sections for i in s.items if not i.must_have)
    db.session.commit()
    auth.login_as(staff)
    response = client.post(
        f"/ratings/schemes/{copy.id}/items/{item.id}",
        data={"text": "改写后的要求", "max_points": "5000", "evidence": "台账"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "改写后的要求</textarea>" in page and 'value="5000"' in page and 'value="台账"' in page


def test_a_refused_facility_choice_keeps_the_select(client, auth, world, rnd):
    from tests.builders import build_facility

    other = build_facility(world.township_a, name="第二养老院", kind="nursing_home")
    db.session.commit()
    auth.login_as(world.user("county_staff"))
    url = f"/ratings/rounds/{rnd.id}/applications"
    assert client.post(url, data={"facility_id": world.facility_a.id}).status_code == 302
    # The facility is added once; a second try is refused, its choice kept (the other one).
    # Refused (a facility of another county): shown again with why.
    refused = client.post(url, data={"facility_id": world.facility_b.id})
    assert refused.status_code == 422
    assert 'data-refused="add"' in refused.get_data(as_text=True)
    client.post(url, data={"facility_id": other.id})
    again = client.post(url, data={"facility_id": other.id})
    assert again.status_code == 409
    assert 'data-refused="add"' in again.get_data(as_text=True)


def _scores_form(application, note="夜班两人"):
    form = {}
    items = [i for s in application.round.scheme.sections for i in s.items]
    scored = next(i for i in items if not i.must_have)
    must = next(i for i in items if i.must_have)
    form[f"score-{scored.id}"] = "1.5"
    form[f"note-{scored.id}"] = note
    form[f"met-{must.id}"] = "0"
    return form, scored, must


def test_attaching_a_photo_saves_the_unsaved_scores_first(client, auth, world, application):
    auth.login_as(world.user("operator"))
    form, scored, must = _scores_form(application)
    url = f"/ratings/applications/{application.id}/scores/self/evidence"
    response = client.post(
        url,
        data={**form, "item_id": scored.id, f"file-{scored.id}": (io.BytesIO(PNG), "现场.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    scores = {s.item_id: s for s in db.session.scalars(sa.select(Score))}
    assert str(scores[scored.id].points) == "1.5" and scores[scored.id].note == "夜班两人"
    assert scores[must.id].met is False
    assert [e.original_name for e in db.session.scalars(sa.select(Evidence))] == ["现场.png"]
    page = client.get(f"/ratings/applications/{application.id}/scores/self").get_data(as_text=True)
    assert 'value="夜班两人"' in page


def test_a_refused_upload_keeps_the_typed_scores(client, auth, world, application):
    auth.login_as(world.user("operator"))
    form, scored, _must = _scores_form(application, note="消防通道堵塞")
    url = f"/ratings/applications/{application.id}/scores/self/evidence"
    response = client.post(
        url,
        data={**form, "item_id": scored.id, f"file-{scored.id}": (io.BytesIO(b"MZ..."), "a.exe")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="1.5"' in page and 'value="消防通道堵塞"' in page
    assert '<option value="0" selected>' in page
    assert "请重新选择文件" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_removing_a_file_from_the_scoring_page_keeps_the_scores(client, auth, world, application):
    auth.login_as(world.user("operator"))
    form, scored, _must = _scores_form(application)
    url = f"/ratings/applications/{application.id}/scores/self/evidence"
    client.post(
        url,
        data={"item_id": scored.id, "file": (io.BytesIO(PNG), "旧.png")},
        content_type="multipart/form-data",
    )
    evidence = db.session.scalars(sa.select(Evidence)).one()
    response = client.post(f"/ratings/evidence/{evidence.id}/delete", data=form)
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    score = db.session.scalar(sa.select(Score).where(Score.item_id == scored.id))
    assert score.note == "夜班两人"
