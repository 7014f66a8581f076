"""notifications: a message being sent is recorded before the send (status 'sending', an
attempt with no answer yet)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 14:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbox_message_status_known"),
            "status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')",
        )
    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.alter_column("ok", existing_type=sa.Boolean(), nullable=True)


def downgrade():
    # A message left sending goes back to waiting (it is sent again, as it would have been);
    # an attempt never answered goes back as failed.
    op.execute("UPDATE outbox_message SET status = 'pending' WHERE status = 'sending'")
    op.execute("UPDATE delivery_attempt SET ok = false WHERE ok IS NULL")
    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.alter_column("ok", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbox_message_status_known"),
            "status IN ('pending', 'sent', 'dead', 'cancelled')",
        )
