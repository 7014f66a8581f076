"""beds: a stay keeps its discharge note beside its admission note (one overwrote the other)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 03:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discharge_note", sa.String(length=255), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("stay", schema=None) as batch_op:
        batch_op.drop_column("discharge_note")
