"""What `normwatch status` reads besides instances: the outbox's depth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Outbox


@dataclass(frozen=True)
class OutboxDepth:
    pending: int
    oldest_pending_at: datetime | None  # when the oldest waiting alert was queued
    failed: int  # refused by Slack for good; kept, not retried
    # Pending alerts whose last try failed, by error (Slack's words).
    errors: dict[str, int]


def outbox_depth(session: Session) -> OutboxDepth:
    # min() keeps the column's type: a zone-aware UTC datetime on both backends.
    pending, oldest = session.execute(
        select(func.count(), func.min(Outbox.created_at)).where(
            Outbox.status == "pending"
        )
    ).one()
    failed = session.scalar(
        select(func.count()).select_from(Outbox).where(Outbox.status == "failed")
    )
    errors = session.execute(
        select(Outbox.last_error, func.count())
        .where(Outbox.status == "pending", Outbox.last_error.is_not(None))
        .group_by(Outbox.last_error)
    ).all()
    return OutboxDepth(
        pending=int(pending),
        oldest_pending_at=oldest,
        failed=int(failed or 0),
        errors={str(error): int(n) for error, n in errors},
    )
