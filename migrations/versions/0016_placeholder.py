"""placeholder: renamed and filled by the work that needs a schema change here

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 03:00:00

"""

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
