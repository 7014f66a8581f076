"""ratings: evidence files, external assessors' accounts, withdrawn applications, closed rounds

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000

Written by hand: autogenerate does not see a changed CHECK constraint. On SQLite the changed
tables are rebuilt in batch mode (env.py turns foreign keys off around the migrations, or
dropping the old ``user_account`` would trip over every row that points at an account).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ROLES_BEFORE = "'admin', 'county_staff', 'township_staff', 'visitor', 'operator', 'family'"
ROLES_AFTER = ROLES_BEFORE + ", 'assessor'"
SCOPE = (
    "(role IN ({region_roles}) AND region_id IS NOT NULL AND facility_id IS NULL)"
    " OR (role = 'operator' AND facility_id IS NOT NULL AND region_id IS NULL)"
    " OR (role IN ('admin', 'family') AND facility_id IS NULL)"
)
REGION_ROLES_BEFORE = "'county_staff', 'township_staff', 'visitor'"
REGION_ROLES_AFTER = REGION_ROLES_BEFORE + ", 'assessor'"


def _roles(roles: str, region_roles: str) -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_role_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_user_account_scope_matches_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_account_role_known'), f"role IN ({roles})")
        batch_op.create_check_constraint(
            op.f('ck_user_account_scope_matches_role'), SCOPE.format(region_roles=region_roles)
        )


def upgrade():
    _roles(ROLES_AFTER, REGION_ROLES_AFTER)

    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_rating_round_closed_by_id_user_account'), 'user_account', ['closed_by_id'], ['id']
        )
    # A round closed before this revision (none could be: nothing closed rounds) gets a time.
    op.execute("UPDATE rating_round SET closed_at = updated_at WHERE status = 'closed'")
    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_rating_round_closed_when'), "(status = 'closed') = (closed_at IS NOT NULL)"
        )

    with op.batch_alter_table('rating_application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('withdraw_reason', sa.String(length=500), nullable=False, server_default='')
        )
        batch_op.create_foreign_key(
            op.f('fk_rating_application_withdrawn_by_id_user_account'),
            'user_account',
            ['withdrawn_by_id'],
            ['id'],
        )
    op.execute("UPDATE rating_application SET withdrawn_at = updated_at WHERE status = 'withdrawn'")
    with op.batch_alter_table('rating_application', schema=None) as batch_op:
        batch_op.alter_column('withdraw_reason', server_default=None)
        batch_op.create_check_constraint(
            op.f('ck_rating_application_withdrawn_when'),
            "(status = 'withdrawn') = (withdrawn_at IS NOT NULL)",
        )

    op.create_table('rating_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=120), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("content_type IN ('image/jpeg', 'image/png', 'application/pdf')", name=op.f('ck_rating_evidence_content_type_known')),
    sa.CheckConstraint('size > 0', name=op.f('ck_rating_evidence_not_empty')),
    sa.ForeignKeyConstraint(['assessment_id'], ['rating_assessment.id'], name=op.f('fk_rating_evidence_assessment_id_rating_assessment')),
    sa.ForeignKeyConstraint(['item_id'], ['rating_item.id'], name=op.f('fk_rating_evidence_item_id_rating_item')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_rating_evidence_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_evidence')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_rating_evidence_storage_key'))
    )
    with op.batch_alter_table('rating_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_evidence_assessment_id'), ['assessment_id'], unique=False)


def downgrade():
    # The files under instance/evidence stay on disk: a downgrade never deletes evidence.
    with op.batch_alter_table('rating_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_evidence_assessment_id'))

    op.drop_table('rating_evidence')

    with op.batch_alter_table('rating_application', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rating_application_withdrawn_when'), type_='check')
        batch_op.drop_constraint(
            op.f('fk_rating_application_withdrawn_by_id_user_account'), type_='foreignkey'
        )
        batch_op.drop_column('withdraw_reason')
        batch_op.drop_column('withdrawn_by_id')
        batch_op.drop_column('withdrawn_at')

    with op.batch_alter_table('rating_round', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_rating_round_closed_when'), type_='check')
        batch_op.drop_constraint(op.f('fk_rating_round_closed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('closed_at')

    # External assessors cannot exist before this revision: their accounts are switched off
    # and bound to nothing they could use (kept, because audit entries name them).
    op.execute(
        "UPDATE user_account SET role = 'family', region_id = NULL, active = false"
        " WHERE role = 'assessor'"
    )
    _roles(ROLES_BEFORE, REGION_ROLES_BEFORE)
