"""visit rate basis: a county chooses what its monthly visit rate counts (every covered person
visited in the month, or the visits due in the month that were done)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visit_policy', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('rate_basis', sa.String(length=10), server_default='covered', nullable=False)
        )
        batch_op.create_check_constraint(
            op.f('ck_visit_policy_rate_basis_known'), "rate_basis IN ('covered', 'due')"
        )


def downgrade():
    with op.batch_alter_table('visit_policy', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_visit_policy_rate_basis_known'), type_='check')
        batch_op.drop_column('rate_basis')
