"""a partial index on the items that carry a MinHash signature

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 02:40:00

Story placement looks for near-duplicates among the signed items published
within a window. Without this index that query read every item of the
window (tens of thousands on a busy day) for each matched item.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SIGNED = sa.text("minhash IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_items_signed_published_at",
            ["published_at"],
            unique=False,
            sqlite_where=_SIGNED,
            postgresql_where=_SIGNED,
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_signed_published_at")
