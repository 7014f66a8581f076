"""subsidies: what a life event stops, and the recovery of payments made after a death

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subsidy_recovery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("reversal_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recovered_by_id", sa.Integer(), nullable=True),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.CheckConstraint(
            "status IN ('to_recover', 'recovered')", name=op.f("ck_subsidy_recovery_status_known")
        ),
        sa.CheckConstraint(
            "reason IN ('death', 'moved_out')", name=op.f("ck_subsidy_recovery_reason_known")
        ),
        sa.CheckConstraint(
            "(status = 'recovered') = (recovered_at IS NOT NULL)",
            name=op.f("ck_subsidy_recovery_recovered_when"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["subsidy_payment.id"],
            name=op.f("fk_subsidy_recovery_payment_id_subsidy_payment"),
        ),
        sa.ForeignKeyConstraint(
            ["reversal_id"],
            ["subsidy_payment.id"],
            name=op.f("fk_subsidy_recovery_reversal_id_subsidy_payment"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_subsidy_recovery_region_id_region")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_subsidy_recovery_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["recovered_by_id"],
            ["user_account.id"],
            name=op.f("fk_subsidy_recovery_recovered_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_recovery")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_subsidy_recovery_payment_id")),
        sa.UniqueConstraint("reversal_id", name=op.f("uq_subsidy_recovery_reversal_id")),
    )
    with op.batch_alter_table("subsidy_recovery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subsidy_recovery_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_subsidy_recovery_region_status", ["region_id", "status"], unique=False
        )


def downgrade():
    with op.batch_alter_table("subsidy_recovery", schema=None) as batch_op:
        batch_op.drop_index("ix_subsidy_recovery_region_status")
        batch_op.drop_index(batch_op.f("ix_subsidy_recovery_person_id"))
    op.drop_table("subsidy_recovery")
