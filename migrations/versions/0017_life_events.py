"""people: life events (a death, a move out of the county, a lost status, a new ability level)
recorded once by one operation, and the move out on the person

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moved_out_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("moved_out_to", sa.String(length=100), server_default="", nullable=False)
        )
    op.create_table(
        "life_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("effects", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('death', 'moved_out', 'status_lost', 'ability_changed')",
            name=op.f("ck_life_event_kind_known"),
        ),
        sa.CheckConstraint(
            "source IN ('registry', 'discharge', 'feed', 'assessment')",
            name=op.f("ck_life_event_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facility.id"], name=op.f("fk_life_event_facility_id_facility")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_life_event_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_life_event_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_life_event")),
    )
    with op.batch_alter_table("life_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_life_event_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "uq_life_event_one_death",
            ["person_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'death'"),
            postgresql_where=sa.text("kind = 'death'"),
        )


def downgrade():
    with op.batch_alter_table("life_event", schema=None) as batch_op:
        batch_op.drop_index("uq_life_event_one_death")
        batch_op.drop_index(batch_op.f("ix_life_event_person_id"))
    op.drop_table("life_event")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("moved_out_to")
        batch_op.drop_column("moved_out_on")
