"""The demo, loaded inside the test's transaction, and its users by role: what the walks
walk through is what a county sees on its first day."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eldercare.auth.models import User
from eldercare.extensions import db

#: One demo account of each kind of user (README: Demo logins).
DEMO_USERS = ("admin", "county", "township", "visitor", "operator", "daycare", "family", "assessor")


@pytest.fixture
def demo(app):
    from eldercare.devtools.demo import load_demo

    load_demo(people=200)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE"))


def demo_user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))
