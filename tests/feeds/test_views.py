"""The pages of the data feeds: upload, columns, report, file, queue and decision, with a
refused form keeping what was typed."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.extensions import db
from eldercare.feeds.models import FeedImport, FeedRow
from eldercare.people.models import Person
from tests.feeds.helpers import csv_bytes, death_day, death_row, people, second_officer


def _upload(client, content, name="名单.csv", source="县殡仪馆", kind="death"):
    return client.post(
        "/feeds/upload",
        data={"kind": kind, "source_name": source, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_upload_columns_process_report_and_download(client, auth, world):
    died = death_day()
    staff = auth.login_as(world.user("county_staff"))
    exact, renamed = people(world, 2)
    content = csv_bytes([death_row(1, exact), death_row(2, renamed, name="别名")])
    response = _upload(client, content)
    assert response.status_code == 302
    feed_import = db.session.scalar(sa.select(FeedImport).order_by(FeedImport.id.desc()))
    page = client.get(response.location).get_data(as_text=True)
    assert "公民身份号码" in page and exact.id_number not in page and exact.id_number_masked in page
    assert re.search(r'<option value="2"\s+selected>公民身份号码', page)

    done = client.post(
        f"/feeds/{feed_import.id}/columns",
        data={"id_number": "2", "name": "1", "date": "3", "source": "4"},
    )
    assert done.status_code == 302
    report = client.get(done.location).get_data(as_text=True)
    assert "已知" in report and "别名" in report
    listing = client.get("/feeds/").get_data(as_text=True)
    assert "县殡仪馆" in listing and "待复核 1" in listing
    db.session.expire_all()
    assert db.session.get(Person, exact.id).death_date == died

    file = client.get(f"/feeds/{feed_import.id}/file")
    assert file.status_code == 200 and file.data == content
    assert "attachment" in file.headers["Content-Disposition"]
    assert (
        db.session.scalar(
            sa.select(AuditLog.actor_id).where(AuditLog.action == "feeds.file_downloaded")
        )
        == staff.id
    )


def test_a_refused_upload_keeps_the_choices(client, auth, world, app):
    auth.login_as(world.user("county_staff"))
    app.config["FEEDS_MAX_BYTES"] = 100
    try:
        response = _upload(client, b"x" * 200, source="公安户籍", kind="moved_out")
    finally:
        app.config.pop("FEEDS_MAX_BYTES")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "MB" in page and 'value="公安户籍"' in page
    assert re.search(r'<option value="moved_out"\s+selected>', page)
    bad = _upload(client, b"a,b\n", name="名单.txt")
    assert bad.status_code == 422 and ".xlsx" in bad.get_data(as_text=True)


def test_a_refused_mapping_keeps_the_choices(client, auth, world):
    auth.login_as(world.user("county_staff"))
    (person,) = people(world, 1)
    _upload(client, csv_bytes([death_row(1, person)]))
    feed_import = db.session.scalar(sa.select(FeedImport).order_by(FeedImport.id.desc()))
    response = client.post(
        f"/feeds/{feed_import.id}/columns", data={"id_number": "2", "name": "2", "date": "3"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "已选作其他项" in page or "already chosen" in page
    assert db.session.get(Person, person.id).death_date is None


def test_the_queue_and_a_second_officers_decision(client, auth, world):
    died = death_day()
    staff = world.user("county_staff")
    auth.login_as(staff)
    (renamed,) = people(world, 1)
    _upload(client, csv_bytes([death_row(1, renamed, name="别名")]))
    feed_import = db.session.scalar(sa.select(FeedImport).order_by(FeedImport.id.desc()))
    client.post(
        f"/feeds/{feed_import.id}/columns", data={"id_number": "2", "name": "1", "date": "3"}
    )
    row = db.session.scalar(sa.select(FeedRow).where(FeedRow.import_id == feed_import.id))
    queue = client.get("/feeds/review").get_data(as_text=True)
    assert "别名" in queue
    own = client.get(f"/feeds/rows/{row.id}").get_data(as_text=True)
    assert 'id="not-yours"' in own and 'id="decide-form"' not in own
    refused = client.post(
        f"/feeds/rows/{row.id}/decide", data={"decision": "apply", "person_id": str(renamed.id)}
    )
    assert refused.status_code == 403

    auth.login_as(second_officer(world))
    page = client.get(f"/feeds/rows/{row.id}").get_data(as_text=True)
    assert 'id="decide-form"' in page and renamed.name in page
    missing_note = client.post(
        f"/feeds/rows/{row.id}/decide", data={"decision": "dismiss", "note": ""}
    )
    assert missing_note.status_code == 422
    done = client.post(
        f"/feeds/rows/{row.id}/decide",
        data={"decision": "apply", "person_id": str(renamed.id), "note": "已核实"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, renamed.id).death_date == died
    assert "别名" not in client.get("/feeds/review").get_data(as_text=True)


def test_the_list_pages_do_not_query_per_row(client, auth, world):
    from tests.feeds.helpers import grow_imports
    from tests.querycount import count_queries

    auth.login_as(world.user("county_staff"))
    for url in ("/feeds/", "/feeds/review"):
        seen = []
        for n in (3, 12):
            grow_imports(world, n)
            assert client.get(url).status_code == 200
            with count_queries() as statements:
                response = client.get(url)
            assert response.status_code == 200
            seen.append(len(statements))
        assert seen[0] == seen[1] and seen[1] <= 25, (url, seen)
