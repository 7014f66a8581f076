"""rating notice made public: a round's issuing office and supervision phone (printed on the
notice), and objections lodged by the public on the notice page (name, phone, who answered)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('issuing_office', sa.String(length=120), nullable=False, server_default='')
        )
        batch_op.add_column(
            sa.Column('supervision_phone', sa.String(length=40), nullable=False, server_default='')
        )
    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.alter_column('issuing_office', server_default=None)
        batch_op.alter_column('supervision_phone', server_default=None)

    with op.batch_alter_table('rating_objection', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('lodged_publicly', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column('lodger_name', sa.String(length=40), nullable=False, server_default='')
        )
        batch_op.add_column(
            sa.Column('lodger_phone', sa.String(length=20), nullable=False, server_default='')
        )
        batch_op.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_rating_objection_answered_by_id_user_account'),
            'user_account',
            ['answered_by_id'],
            ['id'],
        )
    with op.batch_alter_table('rating_objection', schema=None) as batch_op:
        batch_op.alter_column('lodged_publicly', server_default=None)
        batch_op.alter_column('lodger_name', server_default=None)
        batch_op.alter_column('lodger_phone', server_default=None)


def downgrade():
    with op.batch_alter_table('rating_objection', schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f('fk_rating_objection_answered_by_id_user_account'), type_='foreignkey'
        )
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answered_by_id')
        batch_op.drop_column('lodger_phone')
        batch_op.drop_column('lodger_name')
        batch_op.drop_column('lodged_publicly')

    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.drop_column('supervision_phone')
        batch_op.drop_column('issuing_office')
