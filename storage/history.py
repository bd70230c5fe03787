"""Reading the hit history: the one query behind `normwatch hits`."""

from __future__ import annotations

from collections.abc import Iterator
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


@dataclass(frozen=True)
class ArchivedItem:
    """An item as the rules see it, for backtests."""

    id: int
    title: str
    summary: str
    url: str | None
    feed: str
    feed_state: str | None
    language: str | None
    published_at: datetime | None
    feed_kind: str = "news"


def archived_items(
    session: Session, *, since: datetime | None = None, batch: int = 2000
) -> Iterator[ArchivedItem]:
    """Every stored item (not only hits), oldest first, streamed in batches."""
    query = select(Item, Feed.name, Feed.state, Feed.kind).join(
        Feed, Feed.id == Item.feed_id
    )
    if since is not None:
        query = query.where(Item.fetched_at >= since)
    last_id = 0
    while True:
        page = session.execute(
            query.where(Item.id > last_id).order_by(Item.id).limit(batch)
        ).all()
        if not page:
            return
        for item, feed_name, feed_state, feed_kind in page:
            yield ArchivedItem(
                item.id,
                item.title,
                item.summary,
                item.url,
                feed_name,
                feed_state,
                item.language,
                item.published_at,
                feed_kind,
            )
        last_id = page[-1][0].id
        session.expunge_all()  # keep memory flat over a large archive


def stored_hits(
    session: Session, *, since: datetime | None = None
) -> dict[int, set[str]]:
    """Rule ids recorded per item id."""
    query = select(Hit.item_id, Hit.rule).join(Item, Item.id == Hit.item_id)
    if since is not None:
        query = query.where(Item.fetched_at >= since)
    out: dict[int, set[str]] = {}
    for item_id, rule in session.execute(query):
        out.setdefault(item_id, set()).add(rule)
    return out
