"""subsidies: the yearly existence check (a program's setting and the checks recorded)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subsidy_existence_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("interval_months", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), nullable=False),
        sa.Column("back_pay_reason", sa.String(length=20), nullable=True),
        sa.Column("counted_from", sa.Date(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "interval_months BETWEEN 1 AND 24",
            name=op.f("ck_subsidy_existence_policy_interval_in_range"),
        ),
        sa.CheckConstraint(
            "grace_days BETWEEN 0 AND 180",
            name=op.f("ck_subsidy_existence_policy_grace_in_range"),
        ),
        sa.CheckConstraint(
            "back_pay_reason IS NULL OR back_pay_reason IN ('out_of_contact', 'could_not_locate')",
            name=op.f("ck_subsidy_existence_policy_back_pay_reason_known"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["subsidy_program.id"],
            name=op.f("fk_subsidy_existence_policy_program_id_subsidy_program"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_subsidy_existence_policy_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_existence_policy")),
        sa.UniqueConstraint("program_id", name=op.f("uq_subsidy_existence_policy_program_id")),
    )
    op.create_table(
        "subsidy_existence_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("witness", sa.String(length=50), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("resumed", sa.Boolean(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "method IN ('in_person', 'video', 'facility')",
            name=op.f("ck_subsidy_existence_check_method_known"),
        ),
        sa.CheckConstraint(
            "method <> 'facility' OR facility_id IS NOT NULL",
            name=op.f("ck_subsidy_existence_check_facility_certifies"),
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["subsidy_enrolment.id"],
            name=op.f("fk_subsidy_existence_check_enrolment_id_subsidy_enrolment"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facility.id"],
            name=op.f("fk_subsidy_existence_check_facility_id_facility"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_subsidy_existence_check_recorded_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_subsidy_existence_check_region_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_existence_check")),
    )
    with op.batch_alter_table("subsidy_existence_check", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subsidy_existence_check_enrolment", ["enrolment_id", "checked_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subsidy_existence_check_region_id"), ["region_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("subsidy_existence_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subsidy_existence_check_region_id"))
        batch_op.drop_index("ix_subsidy_existence_check_enrolment")
    op.drop_table("subsidy_existence_check")
    op.drop_table("subsidy_existence_policy")
