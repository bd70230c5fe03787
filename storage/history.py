"""Reading the hit history: the one query behind `normwatch hits`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from storage.models import Feed, Hit, Item, Outbox


@dataclass(frozen=True)
class HitFilter:
    state: str | None = None
    topic: str | None = None
    rule: str | None = None
    since: datetime | None = None
    limit: int = 100


@dataclass(frozen=True)
class HitRow:
    """One hit as listings show it; field names are a public contract (JSON output)."""

    id: int
    title: str
    url: str | None
    feed: str
    language: str | None
    state: str | None
    topic: str
    rule: str
    severity: str
    matched: list[str]
    snippet: str
    published_at: datetime | None
    fetched_at: datetime
    story: int
    alerted: bool


def list_hits(session: Session, filters: HitFilter) -> list[HitRow]:
    """Hits matching the filters, newest first."""
    alerted = (
        exists()
        .where(Outbox.story_id == Hit.story_id, Outbox.status == "sent")
        .correlate(Hit)
        .label("alerted")
    )
    query = (
        select(Hit, Item, Feed.name, alerted)
        .join(Item, Item.id == Hit.item_id)
        .join(Feed, Feed.id == Item.feed_id)
        .order_by(Hit.created_at.desc(), Hit.id.desc())
        .limit(filters.limit)
    )
    if filters.state:
        query = query.where(Hit.state == filters.state.upper())
    if filters.topic:
        query = query.where(Hit.topic == filters.topic)
    if filters.rule:
        query = query.where(Hit.rule == filters.rule)
    if filters.since:
        query = query.where(Hit.created_at >= filters.since)
    return [
        HitRow(
            id=hit.id,
            title=item.title,
            url=item.url,
            feed=feed_name,
            language=item.language,
            state=hit.state,
            topic=hit.topic,
            rule=hit.rule,
            severity=hit.severity,
            matched=list(dict.fromkeys(str(m.get("text", "")) for m in hit.matched)),
            snippet=hit.snippet,
            published_at=item.published_at,
            fetched_at=item.fetched_at,
            story=hit.story_id,
            alerted=bool(was_alerted),
        )
        for hit, item, feed_name, was_alerted in session.execute(query).all()
    ]
