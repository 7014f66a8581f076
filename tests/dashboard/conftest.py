"""The demo data the overview tests read."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.extensions import db
from eldercare.regions.models import Region


@pytest.fixture
def demo(app):
    from eldercare.devtools.demo import load_demo

    load_demo(people=300)
    if db.session.get_bind().dialect.name == "postgresql":
        # The planner would otherwise plan for the statistics of whatever this long-lived
        # test database held when it was last analysed (a nested loop that ran for minutes);
        # ANALYZE inside the transaction sees the rows loaded here.
        db.session.execute(sa.text("ANALYZE"))
    county = db.session.scalar(sa.select(Region).where(Region.code == "610302000000"))
    staff = db.session.scalar(sa.select(User).where(User.username == "county"))
    return county, staff
