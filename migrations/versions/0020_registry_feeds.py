"""feeds: death and move-out lists imported from the funeral service and the household register

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "feed_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"], ["region.id"], name=op.f("fk_feed_source_county_id_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_source")),
        sa.UniqueConstraint("county_id", "name", name=op.f("uq_feed_source_county_id_name")),
    )
    with op.batch_alter_table("feed_source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_source_county_id"), ["county_id"], unique=False)

    op.create_table(
        "feed_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("already_known", sa.Integer(), nullable=False),
        sa.Column("to_review", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("queued_before", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('death', 'moved_out')", name=op.f("ck_feed_import_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('uploaded', 'processed')", name=op.f("ck_feed_import_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["region.id"], name=op.f("fk_feed_import_county_id_region")
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["user_account.id"],
            name=op.f("fk_feed_import_imported_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["feed_source.id"], name=op.f("fk_feed_import_source_id_feed_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_import")),
    )
    with op.batch_alter_table("feed_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_import_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_import_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_import_source_id"), ["source_id"], unique=False)

    op.create_table(
        "feed_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("message", sa.String(length=255), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("source_text", sa.String(length=100), nullable=False),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.String(length=255), nullable=False),
        sa.Column("applied_person_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('death', 'moved_out')", name=op.f("ck_feed_row_kind_known")),
        sa.CheckConstraint(
            "outcome IN ('review', 'rejected')", name=op.f("ck_feed_row_outcome_known")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'applied', 'dismissed', 'closed')",
            name=op.f("ck_feed_row_status_known"),
        ),
        sa.CheckConstraint(
            "reason IS NULL OR reason IN ('name_mismatch', 'unknown', 'doubt', 'conflict', "
            "'refused')",
            name=op.f("ck_feed_row_reason_known"),
        ),
        sa.ForeignKeyConstraint(
            ["applied_person_id"], ["person.id"], name=op.f("fk_feed_row_applied_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["region.id"], name=op.f("fk_feed_row_county_id_region")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["feed_import.id"], name=op.f("fk_feed_row_import_id_feed_import")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_feed_row_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["user_account.id"],
            name=op.f("fk_feed_row_resolved_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_row")),
    )
    with op.batch_alter_table("feed_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_row_county_id"), ["county_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_feed_row_id_number_index"), ["id_number_index"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_feed_row_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_row_person_id"), ["person_id"], unique=False)
        batch_op.create_index("ix_feed_row_queue", ["county_id", "status", "kind"], unique=False)


def downgrade():
    with op.batch_alter_table("feed_row", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_row_queue")
        batch_op.drop_index(batch_op.f("ix_feed_row_person_id"))
        batch_op.drop_index(batch_op.f("ix_feed_row_import_id"))
        batch_op.drop_index(batch_op.f("ix_feed_row_id_number_index"))
        batch_op.drop_index(batch_op.f("ix_feed_row_county_id"))
    op.drop_table("feed_row")
    with op.batch_alter_table("feed_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_import_source_id"))
        batch_op.drop_index(batch_op.f("ix_feed_import_sha256"))
        batch_op.drop_index(batch_op.f("ix_feed_import_county_id"))
    op.drop_table("feed_import")
    with op.batch_alter_table("feed_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_source_county_id"))
    op.drop_table("feed_source")
