"""feed health: last success, failing since, items seen, body hash, permanent redirect

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 21:30:21.691062
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "failure_reported",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.add_column(
            sa.Column("items_seen", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("moved_to", sa.String(length=2048), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("moved_to")
        batch_op.drop_column("body_hash")
        batch_op.drop_column("items_seen")
        batch_op.drop_column("failure_reported")
        batch_op.drop_column("failing_since")
        batch_op.drop_column("last_success_at")
