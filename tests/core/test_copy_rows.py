"""COPY (PostgreSQL): values through their column types, and a violated constraint raised as
SQLAlchemy raises it, so it is answered as a conflict (409), never as a crash."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.core.audit import AuditLog
from eldercare.core.db import can_copy, copy_rows, utcnow
from eldercare.core.errors import conflict_for
from eldercare.extensions import db
from eldercare.regions.models import Region
from tests.builders import build_region


@pytest.fixture
def postgres(app):
    if not can_copy(db.session):
        pytest.skip("COPY is PostgreSQL's (psycopg)")


def test_values_go_through_their_column_types(postgres):
    now = utcnow()
    copy_rows(
        db.session,
        AuditLog.__table__,
        [
            "at",
            "actor_name",
            "actor_role",
            "action",
            "entity_type",
            "changes",
            "ip",
            "user_agent",
            "note",
        ],
        [[now, "", "", "test.copied", "Region", {"名称": [None, "马营镇"]}, "", "", "复制"]],
    )
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "test.copied"))
    assert entry.at == now and entry.changes == {"名称": [None, "马营镇"]}


def test_a_violated_constraint_is_an_integrity_error(postgres):
    region = build_region("610302006000", "马营镇")
    with pytest.raises(sa.exc.IntegrityError) as caught:
        copy_rows(
            db.session,
            Region.__table__,
            ["code", "name", "level"],
            [[region.code, "重复", "township"]],
        )
    db.session.rollback()
    assert conflict_for(caught.value).code == 409
    assert "uq_region_code" in str(caught.value.orig)
