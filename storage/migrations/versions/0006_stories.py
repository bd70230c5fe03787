"""stories: item outlets and MinHash signatures, item edits, threaded outbox rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 23:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outlet", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("minhash", sa.LargeBinary(), nullable=True))
    op.create_table(
        "item_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("old_title", sa.Text(), nullable=False),
        sa.Column("old_summary", sa.Text(), nullable=False),
        sa.Column("new_title", sa.Text(), nullable=False),
        sa.Column("new_summary", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_edits_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_edits")),
    )
    with op.batch_alter_table("item_edits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_edits_item_id"), ["item_id"], unique=False
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind", sa.String(length=10), nullable=False, server_default="alert"
            )
        )
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "outlet", sa.String(length=255), nullable=False, server_default=""
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_parent_id_outbox"), "outbox", ["parent_id"], ["id"]
        )
        batch_op.drop_constraint("uq_outbox_story_id_channel", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_story_id_channel_kind_outlet"),
            ["story_id", "channel", "kind", "outlet"],
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_outbox_story_id_channel_kind_outlet"), type_="unique"
        )
    # Follow-ups have no place in the old schema: only alerts remain.
    op.execute("DELETE FROM outbox WHERE kind <> 'alert'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_outbox_story_id_channel", ["story_id", "channel"]
        )
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_parent_id_outbox"), type_="foreignkey"
        )
        batch_op.drop_column("outlet")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("item_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_edits_item_id"))
    op.drop_table("item_edits")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("minhash")
        batch_op.drop_column("outlet")
