"""Alembic environment: run migrations on the engine normwatch hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from storage.fulltext import is_search_object
from storage.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only via storage.db.upgrade
    raise RuntimeError("run migrations with `normwatch db upgrade`")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
        compare_type=True,
        # The search index is backend-specific SQL, not a model (storage.fulltext).
        include_name=lambda name, type_, parents: not is_search_object(name),
    )
    context.run_migrations()
