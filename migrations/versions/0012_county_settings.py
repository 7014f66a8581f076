"""county settings: per-county bounds on typed values (subsidy periods ahead, bed prices)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'county_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('subsidy_periods_ahead', sa.Integer(), nullable=False),
        sa.Column('bed_price_min_fen', sa.Integer(), nullable=False),
        sa.Column('bed_price_max_fen', sa.Integer(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            'subsidy_periods_ahead BETWEEN 0 AND 12',
            name=op.f('ck_county_settings_periods_ahead_range'),
        ),
        sa.CheckConstraint(
            'bed_price_min_fen >= 0 AND bed_price_max_fen > bed_price_min_fen'
            ' AND bed_price_max_fen <= 100000000',
            name=op.f('ck_county_settings_bed_price_range'),
        ),
        sa.ForeignKeyConstraint(
            ['region_id'], ['region.id'], name=op.f('fk_county_settings_region_id_region')
        ),
        sa.ForeignKeyConstraint(
            ['updated_by_id'],
            ['user_account.id'],
            name=op.f('fk_county_settings_updated_by_id_user_account'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_county_settings')),
        sa.UniqueConstraint('region_id', name=op.f('uq_county_settings_region_id')),
    )


def downgrade():
    op.drop_table('county_settings')
