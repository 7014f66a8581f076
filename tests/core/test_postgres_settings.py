"""Session settings the application gives its PostgreSQL connections."""

import pytest
import sqlalchemy as sa

from eldercare.extensions import db


def test_jit_is_off_for_the_applications_connections(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    # At city scale the JIT compiled the vacancy search's plan for longer than it ran.
    assert db.session.scalar(sa.text("SHOW jit")) == "off"
