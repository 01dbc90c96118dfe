"""history of every change, one count per photo with its provenance, review flags, hand corrections,
effective-dated plans

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("interface", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("undo_of", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_change_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
    )
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_change_group_id"), ["group_id"], unique=False)

    op.create_table(
        "hair_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("x_px", sa.Float(), nullable=False),
        sa.Column("y_px", sa.Float(), nullable=False),
        sa.Column("hair_index", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_hair_correction_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photo.id"], name=op.f("fk_hair_correction_photo_id_photo"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hair_correction")),
    )
    with op.batch_alter_table("hair_correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hair_correction_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hair_correction_photo_id"), ["photo_id"], unique=False)

    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("count_source", sa.String(length=20), nullable=False, server_default="automatic")
        )
        batch_op.add_column(sa.Column("automatic_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("manual_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("corrected_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("count_se", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("review_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
    # Existing rows: image measurements hold the detector's count; hand counts are manual.
    op.execute(
        "UPDATE measurement SET count_source = 'manual', manual_count = hair_count WHERE source = 'manual'"
    )
    op.execute("UPDATE measurement SET automatic_count = hair_count WHERE source = 'image'")
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.alter_column("count_source", server_default=None, existing_type=sa.String(length=20))

    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("effective_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("supersedes_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_plan_supersedes_id_plan"), "plan", ["supersedes_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    raise NotImplementedError("regrow journals are never downgraded; restore an export instead")
