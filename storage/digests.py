"""The daily digest's bookkeeping and numbers.

A digest row per (kind, day, channel) is claimed with a lease like an outbox
row, so several processes and restarts post each day's digest once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import desc, func, select, update
from sqlalchemy.orm import Session

from storage.dialect import insert_ignore
from storage.models import Digest, Hit, Item

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}


def claim_digest(
    session: Session,
    *,
    kind: str,
    day: str,
    channel: str,
    now: datetime,
    lease: timedelta,
) -> int | None:
    """Reserve the digest for `day`; None when it was sent or someone else has it."""
    session.execute(
        insert_ignore(session, Digest, conflict=["kind", "day", "channel"]),
        {
            "kind": kind,
            "day": day,
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        },
    )
    digest_id = session.scalar(
        select(Digest.id).where(
            Digest.kind == kind, Digest.day == day, Digest.channel == channel
        )
    )
    taken = session.execute(
        update(Digest)
        .where(
            Digest.id == digest_id,
            Digest.status == "pending",
            Digest.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease)
    )
    return digest_id if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def mark_digest(
    session: Session,
    digest_id: int,
    *,
    now: datetime,
    ts: str | None = None,
    error: str | None = None,
    wait: timedelta = timedelta(0),
) -> None:
    """Sent (with its ts), or failed: try again after `wait`."""
    row = session.get(Digest, digest_id)
    if row is None:
        return
    row.attempts += 1
    if error is None:
        row.status, row.sent_at, row.slack_ts, row.last_error = "sent", now, ts, None
    else:
        row.last_error, row.next_attempt_at = error[:2000], now + wait


@dataclass(frozen=True)
class StoryLine:
    title: str
    url: str | None
    state: str | None
    topic: str
    severity: str
    outlets: int


def top_stories(
    session: Session, *, since: datetime, until: datetime, limit: int
) -> list[StoryLine]:
    """The window's stories carried by the most items, then the most severe."""
    outlets = func.count(func.distinct(Hit.item_id)).label("outlets")
    first = func.min(Hit.id).label("first")
    rows = session.execute(
        select(Hit.story_id, outlets, first)
        .where(Hit.created_at >= since, Hit.created_at < until)
        .group_by(Hit.story_id)
        .order_by(desc(outlets), first)
        .limit(limit * 4)
    ).all()
    lines: list[StoryLine] = []
    for _, n, first_id in rows:
        hit = session.get(Hit, first_id)
        item = session.get(Item, hit.item_id) if hit else None
        if hit is None or item is None:
            continue
        lines.append(
            StoryLine(item.title, item.url, hit.state, hit.topic, hit.severity, int(n))
        )
    lines.sort(key=lambda s: (-s.outlets, -SEVERITY_RANK.get(s.severity, 0)))
    return lines[:limit]
