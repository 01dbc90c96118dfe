"""photo rows store a file name inside the photo folder, never a path

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 08:00:00

``photo.stored_path`` (an absolute path) becomes ``photo.file_name`` = ``<sha256><suffix>``, the name regrow
always gave the file; the folder is a setting of whoever opens the journal. A path can then never point
outside the photo folder (issue: a crafted export could make the app serve or delete any file).
"""

from __future__ import annotations

from pathlib import PurePosixPath

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The suffixes uploads were stored under (web/_settings.py of revision 0001), with their spellings.
_SUFFIXES = {
    ".jpg": ".jpg",
    ".jpeg": ".jpg",
    ".png": ".png",
    ".tif": ".tif",
    ".tiff": ".tif",
    ".webp": ".webp",
}


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, stored_path, sha256 FROM photo")).fetchall()
    # The names first, while the column is still TEXT: narrowing it to 80 characters first would fail on
    # PostgreSQL (which enforces lengths) for every real absolute path of a 0001 journal.
    photo = sa.table("photo", sa.column("id", sa.Integer()), sa.column("stored_path", sa.Text()))
    for row_id, stored, sha in rows:
        suffix = _SUFFIXES.get(PurePosixPath(str(stored).replace("\\", "/")).suffix.lower(), ".jpg")
        connection.execute(
            photo.update().where(photo.c.id == row_id).values(stored_path=f"{str(sha).lower()}{suffix}")
        )
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.alter_column(
            "stored_path",
            new_column_name="file_name",
            existing_type=sa.Text(),
            type_=sa.String(length=80),
            existing_nullable=False,
        )


def downgrade() -> None:
    raise NotImplementedError("regrow journals are never downgraded; restore an export instead")
