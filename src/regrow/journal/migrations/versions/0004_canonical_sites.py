"""site names stored in canonical form (trimmed, lower-case, synonyms mapped)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:00:00

"vertex", "Vertex" and "vertex " were three sites; "crown" and "vertex" two. They become one, by the table in
``regrow/journal/sites.yaml`` as it stood when this migration was written (copied here, so the migration
never changes).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SYNONYMS = {
    "vertex": ["crown", "top of head", "vertex crown"],
    "frontal": ["front", "frontal hairline", "hairline", "forehead hairline", "frontal scalp"],
    "mid-scalp": [
        "midscalp",
        "mid scalp",
        "middle",
        "top",
        "parting",
        "part",
        "centre parting",
        "center parting",
    ],
    "temples": ["temple", "temporal", "temporal recession", "temporal area"],
    "left temple": ["temple left", "left temporal"],
    "right temple": ["temple right", "right temporal"],
    "occipital": ["back", "back of head", "occiput", "nape"],
    "left": ["left side", "left parietal", "parietal left"],
    "right": ["right side", "right parietal", "parietal right"],
}
_MAP = {synonym: name for name, synonyms in _SYNONYMS.items() for synonym in [name, *synonyms]}


def _canonical(text: str) -> str:
    folded = " ".join(str(text).replace("_", " ").split()).casefold()
    return _MAP.get(folded, folded)


def upgrade() -> None:
    connection = op.get_bind()
    for table, column in (("measurement", "site"), ("photo", "site"), ("treatment_session", "area")):
        rows = connection.execute(
            sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")
        ).fetchall()
        target = sa.table(table, sa.column("id", sa.Integer()), sa.column(column, sa.String(100)))
        for row_id, value in rows:
            canonical = _canonical(value)
            if canonical and canonical != value:
                connection.execute(target.update().where(target.c.id == row_id).values({column: canonical}))


def downgrade() -> None:
    raise NotImplementedError("regrow journals are never downgraded; restore an export instead")
