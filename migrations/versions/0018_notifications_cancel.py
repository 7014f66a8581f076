"""notifications: a message about a person can be cancelled before it is sent

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_status_known"), type_="check")
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=8),
            type_=sa.String(length=10),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("about_person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_outbox_message_about_person_id_person"), "person", ["about_person_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_message_about_person_id"), ["about_person_id"], unique=False
        )
        batch_op.create_check_constraint(
            op.f("ck_outbox_message_status_known"),
            "status IN ('pending', 'sent', 'dead', 'cancelled')",
        )


def downgrade():
    # A cancelled message was never sent: it goes back as one that failed.
    op.execute("UPDATE outbox_message SET status = 'dead' WHERE status = 'cancelled'")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_status_known"), type_="check")
        batch_op.drop_index(batch_op.f("ix_outbox_message_about_person_id"))
        batch_op.drop_constraint(
            op.f("fk_outbox_message_about_person_id_person"), type_="foreignkey"
        )
        batch_op.drop_column("about_person_id")
        batch_op.alter_column(
            "status",
            existing_type=sa.String(length=10),
            type_=sa.String(length=8),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            op.f("ck_outbox_message_status_known"), "status IN ('pending', 'sent', 'dead')"
        )
