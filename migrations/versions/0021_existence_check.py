"""subsidies: the yearly existence check

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00

"""

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
