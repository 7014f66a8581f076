"""overview snapshots: computed county overviews kept for a while

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 07:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'overview_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('programs', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('viewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['region_id'], ['region.id'],
            name=op.f('fk_overview_snapshot_region_id_region'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_overview_snapshot')),
        sa.UniqueConstraint('region_id', 'month', 'programs', name=op.f('uq_overview_snapshot_region_id_month_programs')),
    )
    with op.batch_alter_table('overview_snapshot', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_overview_snapshot_viewed_at'), ['viewed_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('overview_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overview_snapshot_viewed_at'))
    op.drop_table('overview_snapshot')
