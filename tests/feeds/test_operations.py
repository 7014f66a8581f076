"""The data feed's matching and review: exact matches recorded through people.life_events,
everything else to review or refused, nothing applied twice, a second officer decides."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import local_today
from eldercare.core.errors import AppError, Conflict, Invalid
from eldercare.extensions import db
from eldercare.feeds import operations as ops
from eldercare.feeds.models import FeedImport, FeedRow, FeedSource
from eldercare.people import signals
from eldercare.people.models import LifeEvent, Person
from tests.builders import build_person, new_id_number
from tests.feeds.helpers import (
    MAPPING,
    csv_bytes,
    death_day,
    death_row,
    imported,
    people,
    second_officer,
    upload,
    xlsx_bytes,
)


@contextmanager
def connected(signal, function):
    signal.connect(function)
    try:
        yield
    finally:
        signal.disconnect(function)


def rows_of(feed_import, **where):
    stmt = (
        sa.select(FeedRow).where(FeedRow.import_id == feed_import.id).order_by(FeedRow.row_number)
    )
    for key, value in where.items():
        stmt = stmt.where(getattr(FeedRow, key) == value)
    return list(db.session.scalars(stmt))


def events_of(person):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(LifeEvent).where(LifeEvent.person_id == person.id)))


def counts(feed_import):
    return (
        feed_import.applied,
        feed_import.already_known,
        feed_import.to_review,
        feed_import.unknown,
        feed_import.rejected,
    )


def test_an_exact_match_is_recorded_through_the_registry(world):
    died = death_day()
    staff = world.user("county_staff")
    (person,) = people(world, 1, name="王秀英")
    done = imported(staff, [death_row(1, person)])
    assert counts(done) == (1, 0, 0, 0, 0)
    (event,) = events_of(person)
    assert (event.kind, event.occurred_on, event.source) == ("death", died, "feed")
    assert event.source_ref == f"feed:{done.id}:2"
    assert event.recorded_by_id == staff.id
    assert "县殡仪馆" in event.note
    assert db.session.get(Person, person.id).death_date == died
    assert rows_of(done) == []


def test_mismatch_unknown_doubt_and_conflict_go_to_review_bad_rows_are_refused(world):
    today = local_today()
    died = death_day()
    staff = world.user("county_staff")
    exact, renamed, doubted, dead = people(world, 4)
    dead.death_date = died - timedelta(days=30)
    stranger = new_id_number(area="610302")

    def doubt(person, kind=None, on=None, **_kw):
        return "补贴已发放至下月" if person.id == doubted.id else None

    rows = [
        death_row(1, exact),
        death_row(2, renamed, name="另一个名字"),
        death_row(3, stranger, name="外人"),
        death_row(4, doubted),
        death_row(5, dead),
        death_row(6, "61030219500315123", name="坏号"),
        death_row(7, exact, day=today + timedelta(days=3)),
        [8, "无日期", exact.id_number, "不详", ""],
    ]

    # A feature with a doubt holds something for the person (a payment): it says so when a
    # bulk recording asks, and the row is then looked at one by one.
    def holds(kind, person_ids=(), **_kw):
        return {doubted.id}

    with connected(signals.event_doubts, doubt), connected(signals.involved, holds):
        done = imported(staff, rows)
    assert counts(done) == (1, 0, 3, 1, 3)
    assert done.rows_total == 8
    review = {r.row_number: r for r in rows_of(done, outcome="review")}
    assert {n: r.reason for n, r in review.items()} == {
        3: "name_mismatch",
        4: "unknown",
        5: "doubt",
        6: "conflict",
    }
    assert review[3].person_id == renamed.id and renamed.name in review[3].message
    assert review[4].person_id is None
    assert review[5].message == "补贴已发放至下月"
    assert all(r.status == "pending" for r in review.values())
    rejected = rows_of(done, outcome="rejected")
    assert [r.row_number for r in rejected] == [7, 8, 9]
    assert "身份证号" in rejected[0].message or "ID number" in rejected[0].message
    for person in (renamed, doubted):
        assert events_of(person) == []
        assert db.session.get(Person, person.id).death_date is None


def test_a_receiver_refusing_sends_the_row_to_review_and_writes_nothing_of_it(world):
    died = death_day()
    staff = world.user("county_staff")
    refused, fine = people(world, 2)

    def refuse(event, **_kw):
        if event.person_id == refused.id:
            raise Conflict(errors={"death_date": ["床位结算未完成"]})
        return None

    def holds(kind, person_ids=(), **_kw):
        return {refused.id}

    with connected(signals.life_event, refuse), connected(signals.involved, holds):
        done = imported(staff, [death_row(1, refused), death_row(2, fine)])
    assert counts(done) == (1, 0, 1, 0, 0)
    (row,) = rows_of(done)
    assert (row.reason, row.message) == ("refused", "床位结算未完成")
    assert events_of(refused) == []
    assert db.session.get(Person, refused.id).death_date is None
    assert db.session.get(Person, fine.id).death_date == died


def test_the_importer_cannot_decide_a_second_officer_applies_or_dismisses(world):
    staff, other = world.user("county_staff"), second_officer(world)
    renamed, _ = people(world, 2)
    typo = build_person(world.village_a, name="李桂兰")
    done = imported(
        staff,
        [
            death_row(1, renamed, name="刘某"),
            death_row(2, new_id_number(), name="李桂兰"),
        ],
    )
    first, second = rows_of(done)
    with pytest.raises(AppError) as refused:
        ops.decide(first, {"decision": "apply", "person_id": renamed.id, "note": ""}, staff)
    assert refused.value.code == 403
    assert not ops.may_decide(first, staff) and ops.may_decide(first, other)

    ops.decide(first, {"decision": "apply", "person_id": renamed.id, "note": "已电话核实"}, other)
    (event,) = events_of(renamed)
    assert (event.source, event.source_ref, event.recorded_by_id) == (
        "feed",
        f"feed:{done.id}:2",
        other.id,
    )
    assert [p.id for p in ops.candidates(second, other)] == [typo.id]
    ops.decide(second, {"decision": "dismiss", "person_id": None, "note": "非本县人员"}, other)
    first, second = rows_of(done)
    assert (first.status, first.applied_person_id, first.resolved_by_id) == (
        "applied",
        renamed.id,
        other.id,
    )
    assert (second.status, second.resolution_note) == ("dismissed", "非本县人员")
    assert events_of(typo) == []
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(AuditLog.entity_type == "FeedRow").order_by(AuditLog.id)
    ).all()
    assert actions == ["feeds.row_applied", "feeds.row_dismissed"]
    with pytest.raises(Conflict):
        ops.decide(first, {"decision": "dismiss", "person_id": None, "note": "再次"}, other)


def test_a_date_the_registry_refuses_on_review_is_an_error_and_the_row_waits(world):
    died = death_day()
    staff, other = world.user("county_staff"), second_officer(world)
    (person,) = people(world, 1)
    person.death_date = died - timedelta(days=5)
    done = imported(staff, [death_row(1, person)])
    (row,) = rows_of(done)
    assert row.reason == "conflict"
    with pytest.raises(Conflict):
        ops.decide(row, {"decision": "apply", "person_id": person.id, "note": ""}, other)


def test_reimporting_the_same_or_an_overlapping_list_applies_nothing_twice(world):
    staff = world.user("county_staff")
    a, b, c = people(world, 3)
    stranger = new_id_number()
    rows = [death_row(1, a), death_row(2, b, name="别名"), death_row(3, stranger, name="外人")]
    first = imported(staff, rows)
    assert counts(first) == (1, 0, 1, 1, 0)
    again = imported(staff, rows)
    assert counts(again) == (0, 1, 0, 0, 0) and again.queued_before == 2
    assert rows_of(again) == []
    overlapping = imported(staff, [*rows, death_row(4, c)])
    assert counts(overlapping) == (1, 1, 0, 0, 0) and overlapping.queued_before == 2
    assert len(events_of(a)) == 1 and len(events_of(c)) == 1
    queue = db.session.scalars(ops.queue_of(staff, {})).all()
    assert sorted(r.row_number for r in queue) == [3, 4]
    # Decided rows come back as already known, not to the queue again.
    other = second_officer(world)
    for row in queue:
        ops.decide(row, {"decision": "dismiss", "person_id": None, "note": "核实"}, other)
    last = imported(staff, rows)
    assert counts(last) == (0, 3, 0, 0, 0) and last.queued_before == 0


def test_the_same_person_twice_in_one_list(world):
    died = death_day()
    staff = world.user("county_staff")
    (person,) = people(world, 1)
    done = imported(
        staff,
        [death_row(1, person), death_row(2, person), death_row(3, person, day=died - timedelta(1))],
    )
    assert counts(done) == (1, 1, 1, 0, 0)
    assert len(events_of(person)) == 1


def test_the_file_is_kept_with_its_digest(world):
    staff = world.user("county_staff")
    (person,) = people(world, 1)
    content = csv_bytes([death_row(1, person)])
    feed_import = upload(staff, content, name="殡仪馆11月.csv")
    db.session.expire_all()
    kept = db.session.get(FeedImport, feed_import.id)
    assert kept.content == content
    assert (kept.sha256, kept.size, kept.original_name) == (
        hashlib.sha256(content).hexdigest(),
        len(content),
        "殡仪馆11月.csv",
    )
    stored = db.session.execute(
        sa.text("SELECT content FROM feed_import WHERE id = :id"), {"id": kept.id}
    ).scalar()
    assert person.id_number.encode() not in bytes(stored)  # encrypted at rest
    assert ops.file_of(kept, staff) == content


def test_columns_are_guessed_first_then_remembered_per_source(world):
    died = death_day()
    staff = world.user("county_staff")
    (person,) = people(world, 1)
    page = ops.mapping_page(upload(staff, csv_bytes([death_row(1, person)])))
    assert page["chosen"] == {"id_number": "2", "name": "1", "date": "3", "source": "4"}
    assert "*" in page["rows"][0][2] and person.id_number not in page["rows"][0]

    odd = ["证件", "人", "日子", "备注"]
    row = [person.id_number, person.name, died.isoformat(), ""]
    feed_import = upload(staff, csv_bytes([row], headers=odd), source="公安户籍", kind="moved_out")
    assert ops.mapping_page(feed_import)["chosen"] == {}
    ops.process(feed_import, {"id_number": 0, "name": 1, "date": 2}, staff)
    source = db.session.scalar(sa.select(FeedSource).where(FeedSource.name == "公安户籍"))
    assert source.mapping == {"id_number": "证件", "name": "人", "date": "日子"}

    moved = ["日子", "备注", "人", "证件"]
    later = upload(
        staff, csv_bytes([[died.isoformat(), "", "某", "x"]], headers=moved), source="公安户籍"
    )
    assert ops.mapping_page(later)["chosen"] == {"id_number": "3", "name": "2", "date": "0"}
    elsewhere = upload(
        staff, csv_bytes([[died.isoformat(), "", "某", "x"]], headers=moved), source="县殡仪馆"
    )
    assert ops.mapping_page(elsewhere)["chosen"] == {}  # another source: nothing to go by
    assert db.session.get(Person, person.id).moved_out_on == died


def test_an_xlsx_list_with_date_cells(world):
    died = death_day()
    staff = world.user("county_staff")
    a, b = people(world, 2)
    from datetime import datetime

    content = xlsx_bytes(
        [
            [1, a.name, a.id_number, datetime(died.year, died.month, died.day, 9, 30), "县殡仪馆"],
            [2, b.name, b.id_number, died.strftime("%Y年%m月%d日"), "县殡仪馆"],
        ]
    )
    done = ops.process(upload(staff, content, name="名单.xlsx"), dict(MAPPING), staff)
    assert counts(done) == (2, 0, 0, 0, 0)
    assert db.session.get(Person, b.id).death_date == died


def test_a_move_out_list(world):
    died = death_day()
    staff = world.user("county_staff")
    person, dead = people(world, 2)
    dead.death_date = died
    headers = ["姓名", "身份证号码", "迁出日期", "迁往地"]
    rows = [[p.name, p.id_number, died.isoformat(), "西安市雁塔区"] for p in (person, dead)]
    feed_import = upload(
        staff, csv_bytes(rows, headers=headers), kind="moved_out", source="公安户籍"
    )
    chosen = {k: int(v) for k, v in ops.mapping_page(feed_import)["chosen"].items()}
    assert chosen == {"name": 0, "id_number": 1, "date": 2, "destination": 3}
    done = ops.process(feed_import, chosen, staff)
    assert counts(done) == (1, 0, 1, 0, 0)
    kept = db.session.get(Person, person.id)
    assert (kept.moved_out_on, kept.moved_out_to) == (died, "西安市雁塔区")
    (row,) = rows_of(done)
    assert row.reason == "conflict"


def test_bounds_on_the_file(world, app):
    staff = world.user("county_staff")
    (person,) = people(world, 1)
    app.config["FEEDS_MAX_ROWS"] = 2
    try:
        with pytest.raises(Invalid) as refused:
            upload(staff, csv_bytes([death_row(n, person) for n in range(3)]))
        assert "file" in refused.value.errors
    finally:
        app.config.pop("FEEDS_MAX_ROWS")
    with pytest.raises(Invalid):
        upload(staff, csv_bytes([]))
    with pytest.raises(Invalid):
        upload(staff, b"PK\x03\x04 not a workbook", name="x.xlsx")


def test_a_list_is_processed_once_and_only_by_county_staff_of_its_county(world):
    staff = world.user("county_staff")
    (person,) = people(world, 1)
    feed_import = upload(staff, csv_bytes([death_row(1, person)]))
    with pytest.raises(AppError):
        ops.process(feed_import, dict(MAPPING), world.user("township_staff"))
    ops.process(feed_import, dict(MAPPING), staff)
    with pytest.raises(Conflict):
        ops.process(feed_import, dict(MAPPING), staff)


def test_people_of_another_county_are_unknown(world):
    staff = world.user("county_staff")
    done = imported(staff, [death_row(1, world.person_b)])
    assert counts(done) == (0, 0, 0, 1, 0)
    assert db.session.get(Person, world.person_b.id).death_date is None


def test_people_no_feature_holds_are_recorded_set_based_with_the_same_rows(world):
    """The bulk path writes what the one-by-one path writes: the date, a LifeEvent with its
    source, an audit entry, the relatives' one notice; and a person some feature holds goes
    through the event."""
    died = death_day()
    staff = world.user("county_staff")
    plain, held = people(world, 2)
    seen = []

    def answer(event, **_kw):
        seen.append(event.person_id)

    def holds(kind, person_ids=(), **_kw):
        return {held.id}

    with connected(signals.life_event, answer), connected(signals.involved, holds):
        done = imported(staff, [death_row(1, plain), death_row(2, held)])
    assert counts(done)[0] == 2
    assert seen == [held.id]
    for person in (plain, held):
        (event,) = events_of(person)
        assert (event.source, event.occurred_on) == ("feed", died)
        assert db.session.get(Person, person.id).death_date == died
    entries = db.session.scalars(
        sa.select(AuditLog).where(
            AuditLog.action == "person.death", AuditLog.entity_id.in_([plain.id, held.id])
        )
    ).all()
    assert sorted(e.entity_id for e in entries) == sorted([plain.id, held.id])
    assert {e.entity_type for e in entries} == {"Person"}
