"""history: full-text search over items, indexes for the listings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.fulltext import (
    POSTGRESQL_DDL,
    POSTGRESQL_DROP,
    SQLITE_DDL,
    SQLITE_DROP,
    index_text,
)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BATCH = 2000


def _backfill() -> None:
    """Fold the text of items stored before search existed (in Python, like new ones)."""
    bind = op.get_bind()
    items = sa.table(
        "items",
        sa.column("id", sa.Integer),
        sa.column("title", sa.Text),
        sa.column("summary", sa.Text),
        sa.column("search_text", sa.Text),
    )
    update = (
        sa.update(items)
        .where(items.c.id == sa.bindparam("item_id"))
        .values(search_text=sa.bindparam("folded"))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(items.c.id, items.c.title, items.c.summary)
            .where(items.c.id > last)
            .order_by(items.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            update,
            [
                {"item_id": row.id, "folded": index_text(row.title, row.summary)}
                for row in rows
            ],
        )
        last = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_text", sa.Text(), nullable=False, server_default="")
        )
        batch_op.create_index("ix_items_fetched_at", ["fetched_at"], unique=False)
        batch_op.create_index(
            "ix_items_feed_id_fetched_at", ["feed_id", "fetched_at"], unique=False
        )
    _backfill()
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.drop_index("ix_hits_rule")
        batch_op.drop_index("ix_hits_state")
        batch_op.drop_index("ix_hits_topic")
        batch_op.create_index(
            "ix_hits_state_created_at", ["state", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_hits_topic_created_at", ["topic", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_hits_rule_created_at", ["rule", "created_at"], unique=False
        )
    ddl = POSTGRESQL_DDL if op.get_bind().dialect.name == "postgresql" else SQLITE_DDL
    for statement in ddl:
        op.execute(statement)


def downgrade() -> None:
    drop = (
        POSTGRESQL_DROP if op.get_bind().dialect.name == "postgresql" else SQLITE_DROP
    )
    for statement in drop:
        op.execute(statement)
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.drop_index("ix_hits_rule_created_at")
        batch_op.drop_index("ix_hits_topic_created_at")
        batch_op.drop_index("ix_hits_state_created_at")
        batch_op.create_index("ix_hits_topic", ["topic"], unique=False)
        batch_op.create_index("ix_hits_state", ["state"], unique=False)
        batch_op.create_index("ix_hits_rule", ["rule"], unique=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_feed_id_fetched_at")
        batch_op.drop_index("ix_items_fetched_at")
        batch_op.drop_column("search_text")
