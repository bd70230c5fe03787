"""Retention: items that never matched a rule are deleted after a while.

Hits, their items and the team's feedback are kept for good. Deleting runs
in small batches, each its own transaction, so the bot keeps polling (and
SQLite keeps its write lock short) while a large backlog goes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Hit, Item

BATCH = 2000


def retention_cutoff(keep_seconds: int, now: datetime) -> datetime | None:
    """Items fetched before this may go; None when retention is off (0)."""
    return now - timedelta(seconds=keep_seconds) if keep_seconds else None


def _unmatched_before(cutoff: datetime) -> Select[int]:
    return (
        select(Item.id)
        .where(Item.fetched_at < cutoff)
        .where(~exists().where(Hit.item_id == Item.id))
    )


def count_prunable(session: Session, *, cutoff: datetime) -> int:
    """How many items a prune at `cutoff` would delete."""
    query = select(func.count()).select_from(_unmatched_before(cutoff).subquery())
    return session.scalar(query) or 0


def prune_unmatched(
    sessions: sessionmaker[Session],
    *,
    cutoff: datetime,
    batch: int = BATCH,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """Delete items fetched before `cutoff` that have no hit; return how many."""
    deleted = 0
    while not stop():
        with sessions() as session, session.begin():
            ids = list(session.scalars(_unmatched_before(cutoff).limit(batch)))
            if not ids:
                break
            session.execute(delete(Item).where(Item.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            break
    return deleted
